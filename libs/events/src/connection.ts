import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Status } from '@nats-io/transport-node';

export interface EventBus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  prefix: string;
}

export interface ConnectionLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Connects and keeps reconnecting for ever (a broker restart never ends the process). `waitOnFirstConnect`
 * lets a service start while the broker is still away: the connect resolves once it is reachable.
 */
export async function connectBus(opts: {
  url: string;
  name: string;
  stream: string;
  prefix: string;
  logger?: ConnectionLogger;
  /** JetStream API and publish timeout (ms). */
  timeoutMs?: number;
}): Promise<EventBus> {
  const nc = await connect({
    servers: opts.url.split(','),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
  });
  if (opts.logger) watchConnection(nc, opts.logger);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc, { timeout: opts.timeoutMs ?? 10_000 });
  return { nc, js, jsm, stream: opts.stream, prefix: opts.prefix };
}

/** Drains: in-flight publishes and subscriptions finish, then the connection closes. */
export async function closeBus(bus: EventBus): Promise<void> {
  if (!bus.nc.isClosed()) await bus.nc.drain();
}

/** What a connection has been through: readiness reads it, projections restart their consumers on a reconnect. */
export interface ConnectionWatch {
  /** undefined while connected, otherwise why not (`disconnected from …`, `closed`). */
  problem(): string | undefined;
  /** Calls `listener` on every status event (disconnect, reconnect, error, …); returns the unsubscribe. */
  on(listener: (s: Status) => void): () => void;
  /** Times the connection came back after losing the server. */
  reconnects(): number;
}

const watches = new WeakMap<NatsConnection, ConnectionWatch>();

/**
 * One status reader per connection, shared by everything that needs it (readiness, projection watchdogs).
 * Logs disconnects, reconnects and async errors when given a logger (the first caller's logger is kept).
 */
export function watchConnection(nc: NatsConnection, logger?: ConnectionLogger): ConnectionWatch {
  const existing = watches.get(nc);
  if (existing) return existing;
  const listeners = new Set<(s: Status) => void>();
  let problem: string | undefined;
  let reconnects = 0;
  const watch: ConnectionWatch = {
    problem: () => (nc.isClosed() ? 'closed' : problem),
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reconnects: () => reconnects,
  };
  watches.set(nc, watch);
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          problem = `disconnected from ${s.server}`;
          logger?.warn('nats disconnected', { server: s.server });
          break;
        case 'reconnecting':
          problem ??= 'reconnecting';
          break;
        case 'reconnect':
          problem = undefined;
          reconnects++;
          logger?.info('nats reconnected', { server: s.server });
          break;
        case 'error':
          logger?.warn('nats async error', { err: s.error });
          break;
        case 'staleConnection':
          problem = 'stale connection';
          logger?.warn('nats connection stale');
          break;
        case 'close':
          problem = 'closed';
          break;
        default:
          break;
      }
      for (const l of listeners) {
        try {
          l(s);
        } catch (err) {
          // A listener's failure is its own: reported, and the other listeners still hear the status.
          logger?.warn('nats status listener failed', { status: s.type, err });
        }
      }
    }
  })().catch((err: unknown) => logger?.warn('nats status watch ended with an error', { err }));
  return watch;
}
