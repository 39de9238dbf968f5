export * from './health-errors.ts';
export * from './per-context.ts';
export * from './rpc.ts';
export * from './rpc-client.ts';
export * from './run-service.ts';
export * from './tenant.ts';
