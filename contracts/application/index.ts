// Contracts of the application context: events, HTTP bodies and routes.
export {};
