// Contracts of portal user accounts: roles and their scopes, user events, auth and team routes.
export * from './roles.ts';
export * from './events.ts';
export * from './http.ts';
