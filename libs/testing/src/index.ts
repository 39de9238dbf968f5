// @pep/testing: the test support every service's tests and the cross-service tests share. One module a concern:
// names and environments of an isolated test world, its bus, waiting, service processes, private engines,
// reading the stream back, teardown, principals and factories, given/when/then for deciders.
export * from './bus.ts';
export * from './decider-spec.ts';
export * from './engines.ts';
export * from './factories.ts';
export * from './json.ts';
export * from './names.ts';
export * from './principals.ts';
export * from './processes.ts';
export * from './receiver.ts';
export * from './rpc.ts';
export * from './stream.ts';
export * from './teardown.ts';
export * from './wait.ts';
export * from './otlp-receiver.ts';
export * from './fake-stripe/index.ts';
