// Contracts of the identity context: API keys, OAuth clients, scopes and credential formats.
export * from './credential-format.ts';
export * from './scopes.ts';
export * from './scope-words.ts';
export * from './events.ts';
export * from './http.ts';
export * from './grants.ts';
