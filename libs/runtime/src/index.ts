export * from './config.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './logger.ts';
export * from './shutdown.ts';
export * from './zod-errors.ts';
export * from './metrics.ts';
export * from './health-server.ts';
