// Contracts of the marketplace context: events, HTTP bodies and routes.
export * from './events.ts';
export * from './http.ts';
export * from './listing.ts';
export * from './curation-http.ts';
export * from './rankings-http.ts';
