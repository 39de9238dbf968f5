import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface EventBus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  prefix: string;
}

export async function connectBus(opts: { url: string; name: string; stream: string; prefix: string }): Promise<EventBus> {
  const nc = await connect({
    servers: opts.url.split(','),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc, { timeout: 10_000 });
  return { nc, js, jsm, stream: opts.stream, prefix: opts.prefix };
}

/** Drains: in-flight publishes and subscriptions finish, then the connection closes. */
export async function closeBus(bus: EventBus): Promise<void> {
  if (!bus.nc.isClosed()) await bus.nc.drain();
}
