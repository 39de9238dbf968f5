// Contracts of the integration context: events, HTTP bodies and routes.
export {};
