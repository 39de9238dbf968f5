// Contracts of the github context: events, HTTP bodies and routes.
export {};
