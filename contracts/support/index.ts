// Contracts of the support context: events, HTTP bodies and routes.
export {};
