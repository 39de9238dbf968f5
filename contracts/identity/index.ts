// Contracts of the identity context: events, HTTP bodies and routes.
export {};
