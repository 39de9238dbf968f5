import type { PlatformEvent } from '@pep/contracts';
import {
  type ConnectionWatch,
  encodeEvent,
  isTraceparent,
  PublishError,
  type PublishResult,
  tracedPublish,
  watchConnection,
} from '@pep/events';
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  headers as natsHeaders,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

interface Queued {
  subject: string;
  data: Uint8Array;
  reply: string;
  headers: MsgHdrs;
  n: number;
}

interface Pending {
  id: string;
  resolve: (r: PublishResult) => void;
  reject: (e: Error) => void;
  deadline: number;
}

const dec = new TextDecoder();

/**
 * Pipelined JetStream publishing for the ingest hot path. Same wire protocol as `js.publish` (a core publish
 * with a reply subject, the PubAck as the answer, `Nats-Msg-Id` for dedupe) but with one wildcard inbox
 * subscription, a map of pending acks and one sweeping timer, instead of a request object, a timer and two
 * Error objects per message: about twice the throughput on a busy 2-core machine. Publishes made during one
 * turn of the event loop (many concurrent HTTP requests) are handed to the connection together in a
 * `setImmediate`, so they leave in one socket write instead of one write per request.
 */
export class JetStreamPublisher {
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private sub: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private queue: Queued[] = [];
  private flushScheduled = false;
  private readonly flush = () => {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const q of batch) {
      try {
        this.nc.publish(q.subject, q.data, { reply: q.reply, headers: q.headers });
      } catch (err) {
        const p = this.pending.get(q.n);
        this.pending.delete(q.n);
        p?.reject(new PublishError(`publish of ${p.id} failed: ${(err as Error).message}`, { cause: err }));
      }
    }
  };

  private readonly connection: ConnectionWatch;

  /** `timeoutMs` bounds every wait for an ack (GATEWAY_PUBLISH_TIMEOUT_MS); the sweep runs 4× as often. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 3000,
  ) {
    this.connection = watchConnection(nc);
  }

  start(): void {
    const prefixLength = this.inbox.length + 1;
    this.sub = this.nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onAck(Number(msg.subject.slice(prefixLength)), msg) });
    this.sweeper = setInterval(() => this.sweep(), Math.max(20, Math.min(250, this.timeoutMs / 4)));
    this.sweeper.unref();
  }

  /** Publishes one event with dedupe (`Nats-Msg-Id` = dedupeKey) and resolves with its stream sequence. */
  publish(subject: string, event: PlatformEvent, dedupeKey: string): Promise<PublishResult> {
    return tracedPublish(subject, event, (traceparent) => this.send(subject, event, dedupeKey, traceparent));
  }

  private send(subject: string, event: PlatformEvent, dedupeKey: string, traceparent: string | undefined): Promise<PublishResult> {
    // While the broker is away nothing would acknowledge the publish: answer at once instead of holding the client.
    const away = this.connection.problem();
    if (away) return Promise.reject(new PublishError(`publish of ${event.id} failed: the event store is unreachable (${away})`));
    const h = natsHeaders();
    h.set('Nats-Msg-Id', dedupeKey);
    h.set('ce-type', event.type);
    if (event.partnerid) h.set('ce-partnerid', event.partnerid);
    if (isTraceparent(traceparent)) h.set('traceparent', traceparent);
    if (event.tracestate) h.set('tracestate', event.tracestate);
    const n = ++this.next;
    const data = encodeEvent(event);
    return new Promise<PublishResult>((resolve, reject) => {
      this.pending.set(n, { id: event.id, resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.queue.push({ subject, data, reply: `${this.inbox}.${n}`, headers: h, n });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private onAck(n: number, msg: Msg): void {
    const p = this.pending.get(n);
    if (!p) return;
    this.pending.delete(n);
    if (msg.data.length === 0) {
      // A status message: 503 "no responders" when no stream listens on the subject.
      p.reject(new PublishError(`publish of ${p.id} failed: no stream answered (status ${msg.headers?.code ?? '?'})`));
      return;
    }
    try {
      const ack = JSON.parse(dec.decode(msg.data)) as {
        seq?: number;
        duplicate?: boolean;
        error?: { description?: string; err_code?: number };
      };
      if (ack.error || typeof ack.seq !== 'number') {
        p.reject(
          new PublishError(`publish of ${p.id} failed: ${ack.error?.description ?? 'invalid PubAck'} (${ack.error?.err_code ?? '?'})`),
        );
        return;
      }
      p.resolve({ id: p.id, seq: ack.seq, duplicate: ack.duplicate === true });
    } catch (err) {
      p.reject(new PublishError(`publish of ${p.id} failed: unreadable PubAck`, { cause: err }));
    }
  }

  /** Acks come back in order, so the oldest pending publishes are first in the map. */
  private sweep(): void {
    const now = Date.now();
    for (const [n, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(n);
      p.reject(new PublishError(`publish of ${p.id} was not acknowledged within ${this.timeoutMs} ms`));
    }
  }

  inFlight(): number {
    return this.pending.size;
  }

  stop(): void {
    this.flush();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sub?.unsubscribe();
    for (const [n, p] of this.pending) {
      this.pending.delete(n);
      p.reject(new PublishError(`publish of ${p.id} was abandoned: the gateway is stopping`));
    }
  }
}
