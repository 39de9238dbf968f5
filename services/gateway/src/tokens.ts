/** Nest DI tokens of the gateway's shared resources (explicit `@Inject(Token)`: tsx emits no decorator metadata). */
export const CONFIG = Symbol('gateway.config');
export const LOGGER = Symbol('gateway.logger');
export const METRICS = Symbol('gateway.metrics');
export const BUS = Symbol('gateway.bus');
export const DB = Symbol('gateway.db');
export const RPC_CLIENT = Symbol('gateway.rpc-client');
