// Contracts of the incident context: events, HTTP bodies and routes.
export {};
