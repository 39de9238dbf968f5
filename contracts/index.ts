// The public surface of the contracts: envelope, catalog mechanics, HTTP conventions and every context.
// Each context folder owns its events, HTTP bodies and routes and re-exports them from its index.ts.
export * from './common/text.ts';
export * from './common/ids.ts';
export * from './envelope/envelope.ts';
export * from './catalog/registry.ts';
export * from './http/problem.ts';
export * from './http/pagination.ts';
export * from './http/routes.ts';
export * from './partner/events.ts';
export * from './partner/http.ts';
export * from './business/index.ts';
export * from './identity/index.ts';
export * from './accounts/index.ts';
export * from './application/index.ts';
export * from './integration/index.ts';
export * from './support/index.ts';
export * from './webhook/index.ts';
export * from './incident/index.ts';
export * from './rollback/index.ts';
export * from './github/index.ts';
export * from './billing/index.ts';
export * from './marketplace/index.ts';
export * from './ops/index.ts';
export * from './stats/index.ts';
