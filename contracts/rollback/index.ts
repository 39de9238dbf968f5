// Contracts of the rollback context: events, HTTP bodies and routes.
export {};
