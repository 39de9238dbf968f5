// The partner's side of a fault test: events at a steady rate through POST /v1/events, retried as a client would,
// and what became of each attempt (split from stack.ts).
import { randomBytes } from 'node:crypto';
import type { Stack } from './stack.ts';

export interface Attempt {
  eventId: string;
  at: number;
  status: number;
  /** The Retry-After header of a 503, if any. */
  retryAfter: string | null;
  /** A network error (connection refused, reset, timeout). */
  error?: string;
}

/**
 * Partner events at a steady rate through POST /v1/events, each retried as a client would (after Retry-After
 * on a 503, shortly after a network error) until it is acknowledged with 202 or its retry budget is spent.
 */
export function startLoad(
  stack: Stack,
  opts: {
    key: string;
    ratePerS: number;
    /** At least this many events; more while `until` says to go on. */
    total: number;
    until?: () => boolean;
    label?: string;
    /** Stamped on each event (admin credentials name the tenant). */
    partnerId?: string;
    retryBudgetMs?: number;
    /** The `time` of event i (default: now). */
    eventTime?: (i: number) => string;
  },
) {
  const run = opts.label ?? randomBytes(3).toString('hex');
  const prefix = `lead-${run}-`;
  const attempts: Attempt[] = [];
  const acked = new Map<string, { seq: number; at: number }>();
  const abandoned: string[] = [];
  const refused: Attempt[] = [];
  let sent = 0;
  let stopped = false;
  const inflight = new Set<Promise<void>>();

  const one = async (i: number) => {
    const eventId = `${prefix}${i}`;
    const body = {
      ...(opts.partnerId ? { partnerid: opts.partnerId } : {}),
      specversion: '1.0',
      id: eventId,
      source: 'crm',
      type: 'lead.created',
      time: opts.eventTime?.(i) ?? new Date().toISOString(),
      data: { lead_id: `l${i}`, email: `lead${i}@acme.example.com` },
    };
    const deadline = Date.now() + (opts.retryBudgetMs ?? 60_000);
    for (;;) {
      const at = Date.now();
      let wait = 500;
      try {
        const res = await fetch(`${stack.gatewayUrl}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        const a: Attempt = { eventId, at, status: res.status, retryAfter: res.headers.get('retry-after') };
        attempts.push(a);
        if (res.status === 202) {
          const seq = (JSON.parse(text) as { data: { seq: number }[] }).data[0]?.seq ?? 0;
          acked.set(eventId, { seq, at: Date.now() });
          return;
        }
        if (res.status < 500 && res.status !== 429) {
          abandoned.push(`${eventId}: ${res.status} ${text.slice(0, 300)}`);
          return;
        }
        const ra = Number(a.retryAfter);
        if (Number.isFinite(ra) && ra > 0) wait = Math.min(ra, 5) * 1000;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        const a: Attempt = { eventId, at, status: 0, retryAfter: null, error: cause?.code ?? (err as Error).name };
        attempts.push(a);
        if (a.error === 'ECONNREFUSED' || a.error === 'ECONNRESET' || a.error === 'UND_ERR_SOCKET') refused.push(a);
      }
      if (Date.now() + wait > deadline) {
        abandoned.push(`${eventId}: retry budget spent`);
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  };

  const done = (async () => {
    const interval = 1000 / opts.ratePerS;
    const t0 = Date.now();
    for (let i = 0; !stopped && (i < opts.total || opts.until?.()); i++) {
      const due = t0 + i * interval;
      const delay = due - Date.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      sent++;
      const p = one(i).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  })();

  return {
    prefix,
    attempts,
    acked,
    abandoned,
    refused,
    sent: () => sent,
    done,
    stop() {
      stopped = true;
      return done;
    },
  };
}
export type Load = ReturnType<typeof startLoad>;

export function summarize(load: Load) {
  const byStatus: Record<string, number> = {};
  for (const a of load.attempts) {
    const k = a.status === 0 ? `error:${a.error}` : String(a.status);
    byStatus[k] = (byStatus[k] ?? 0) + 1;
  }
  const unavailable = load.attempts.filter((a) => a.status === 503);
  return {
    events: load.sent(),
    acknowledged: load.acked.size,
    abandoned: load.abandoned.length,
    attempts: load.attempts.length,
    by_status: byStatus,
    status_503_without_retry_after: unavailable.filter((a) => !a.retryAfter).length,
  };
}
