// The public surface of the contracts: envelope, catalog mechanics, HTTP conventions and every context.
export * from './envelope/envelope.ts';
export * from './catalog/registry.ts';
export * from './http/problem.ts';
export * from './http/pagination.ts';
export * from './http/routes.ts';
export * from './partner/events.ts';
export * from './partner/http.ts';
export * from './business/index.ts';
