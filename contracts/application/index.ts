// Contracts of the application context: events, HTTP bodies and routes.
export * from './events.ts';
export * from './http.ts';
export * from './tiers.ts';
