export * from './rpc.ts';
export * from './run-service.ts';
