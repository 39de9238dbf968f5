// Contracts of the operator routes (admin console): projection status and rebuilds, consumer lag, dead letters.
export * from './http.ts';
export * from './services.ts';
