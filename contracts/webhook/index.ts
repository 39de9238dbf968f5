// Contracts of the webhook context: events, HTTP bodies and routes.
export {};
