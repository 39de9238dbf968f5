import { hostname } from 'node:os';
import type { PlatformEvent, Principal } from '@pep/contracts';
import type { Logger } from '@pep/runtime';

const MINUTE_MS = 60_000;
/** Upper bounds (ms) of the per-credential latency histogram; p95 is reported as the bound of its bucket. */
export const API_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;
const REPORTER = /^[A-Za-z0-9_-]{1,64}$/;

interface CredentialCell {
  requests: number;
  errors: number;
  /** Counts per API_LATENCY_BUCKETS_MS bucket, the last one above the largest bound. */
  latency: number[];
}

interface PartnerMinute {
  requests: number;
  /** Index 1..5: 1xx..5xx. */
  status: number[];
  credentials: Map<string, CredentialCell>;
}

/** A minute's counts, waiting to be appended (or kept after a failed append for the next flush). */
interface MinuteBatch {
  minute: number;
  /** The reporter id its rollups carry (the start minute of a process has its own, see `reporterFor`). */
  reporter: string;
  partners: Map<string, PartnerMinute>;
}

/** What the rollup of one partner and minute looks like on the stream (contracts: `api_usage.rolled_up`). */
export interface ApiUsageRollupData {
  partner_id: string;
  minute: string;
  reporter: string;
  requests: number;
  by_status: Record<string, number>;
  by_credential: Record<string, { requests: number; errors: number; latency_ms_p95?: number }>;
}

/** A subject-token-safe replica id: GATEWAY_REPLICA_ID, else the host name (stable across restarts, no pid). */
export function replicaId(configured: string | undefined, host = hostname()): string {
  const raw = configured?.trim() || host || 'gateway';
  const clean = raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 56);
  return REPORTER.test(clean) ? clean : 'gateway';
}

/** `apiu_<partner>_<yyyymmddhhmm>_<reporter>`: the same rollup always has the same id, so a re-sent one is dropped. */
export function rollupId(partnerId: string, minuteStartMs: number, reporter: string): string {
  const stamp = new Date(minuteStartMs).toISOString().slice(0, 16).replace(/\D/g, '');
  return `apiu_${partnerId}_${stamp}_${reporter}`;
}

/** A credential id as a `by_credential` key (sanitized when the rollup is built, not on the request path). */
function credentialKey(raw: string): string {
  return REPORTER.test(raw) ? raw : raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'unknown';
}

function p95(buckets: number[], total: number): number | undefined {
  if (total === 0) return undefined;
  const rank = Math.ceil(total * 0.95);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] as number;
    // Above the largest bound: reported as twice that bound (the histogram cannot say more).
    if (seen >= rank) return API_LATENCY_BUCKETS_MS[i] ?? 2 * (API_LATENCY_BUCKETS_MS.at(-1) as number);
  }
  return undefined;
}

export function rollupData(partnerId: string, batch: MinuteBatch, cell: PartnerMinute): ApiUsageRollupData {
  const by_status: Record<string, number> = {};
  for (let i = 1; i <= 5; i++) if ((cell.status[i] as number) > 0) by_status[`${i}xx`] = cell.status[i] as number;
  const by_credential: ApiUsageRollupData['by_credential'] = {};
  for (const [raw, c] of cell.credentials) {
    const latency = p95(c.latency, c.requests);
    const id = credentialKey(raw);
    const prev = by_credential[id]; // two raw ids that sanitize alike share one entry
    by_credential[id] = {
      requests: c.requests + (prev?.requests ?? 0),
      errors: c.errors + (prev?.errors ?? 0),
      ...(latency !== undefined ? { latency_ms_p95: Math.max(latency, prev?.latency_ms_p95 ?? 0) } : {}),
    };
  }
  return {
    partner_id: partnerId,
    minute: new Date(batch.minute * MINUTE_MS).toISOString(),
    reporter: batch.reporter,
    requests: cell.requests,
    by_status,
    by_credential,
  };
}

/**
 * The gateway's API usage rollups (`api_usage.rolled_up`): each answered request of a partner principal (API key,
 * OAuth token, portal session) only increments Map entries; on every minute boundary the closed minutes are
 * appended, one event per partner, minute and replica, with a deterministic id. `stop()` (SIGTERM) appends the
 * current minute too, so a stopped gateway loses nothing it counted. A failed append keeps the minute for the
 * next flush (same ids, so an append that did reach the stream is dropped as a duplicate).
 *
 * The minute a process starts in is reported as `<replica>-s<ss>` (the second it started): the process before it
 * may have reported that same minute when it stopped, and the same id would drop the new counts as a duplicate.
 */
export function createApiUsageRollup(opts: {
  reporter: string;
  publish: (event: PlatformEvent, partnerId: string) => Promise<unknown>;
  logger: Logger;
  onFailure?: () => void;
  now?: () => number;
  /** Schedule flushes on minute boundaries (off in unit tests, which call `flush`). */
  timer?: boolean;
  /** Extra delay after the boundary, so requests answered in the last millisecond are in. */
  graceMs?: number;
}) {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const startMinute = Math.floor(startedAt / MINUTE_MS);
  const startReporter = `${opts.reporter.slice(0, 56)}-s${String(Math.floor((startedAt % MINUTE_MS) / 1000)).padStart(2, '0')}`;
  const reporterFor = (minute: number) => (minute === startMinute ? startReporter : opts.reporter);

  let current: MinuteBatch | undefined;
  const closed: MinuteBatch[] = [];
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const rotate = (minute: number): MinuteBatch => {
    if (current) closed.push(current);
    current = { minute, reporter: reporterFor(minute), partners: new Map() };
    return current;
  };

  const publishBatch = async (batch: MinuteBatch): Promise<boolean> => {
    const results = await Promise.allSettled(
      [...batch.partners].map(async ([partnerId, cell]) => {
        const minuteStart = batch.minute * MINUTE_MS;
        const event: PlatformEvent = {
          specversion: '1.0',
          id: rollupId(partnerId, minuteStart, batch.reporter),
          source: 'urn:pep:gateway',
          type: 'api_usage.rolled_up',
          time: new Date(minuteStart).toISOString(),
          datacontenttype: 'application/json',
          schemaversion: 1,
          partnerid: partnerId,
          data: rollupData(partnerId, batch, cell),
        };
        await opts.publish(event, partnerId);
        batch.partners.delete(partnerId);
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      opts.onFailure?.();
      opts.logger.warn('api usage rollup append failed; kept for the next flush', {
        minute: new Date(batch.minute * MINUTE_MS).toISOString(),
        partners: failed.length,
        err: (failed[0] as PromiseRejectedResult).reason,
      });
    }
    return batch.partners.size === 0;
  };

  /** Appends every closed minute (and, with `all`, the current one). */
  const flushOnce = async (all: boolean) => {
    const minute = Math.floor(now() / MINUTE_MS);
    if (current && (all || current.minute < minute)) {
      closed.push(current);
      current = undefined;
    }
    while (closed.length > 0) {
      const batch = closed[0] as MinuteBatch;
      if (!(await publishBatch(batch))) return;
      closed.shift();
    }
  };
  const flush = (all = false): Promise<void> => {
    const run = (flushing ?? Promise.resolve()).then(() => flushOnce(all));
    const tracked = run.finally(() => {
      if (flushing === tracked) flushing = undefined;
    });
    flushing = tracked;
    return tracked;
  };

  const schedule = () => {
    if (stopped || opts.timer === false) return;
    const t = now();
    const next = (Math.floor(t / MINUTE_MS) + 1) * MINUTE_MS + (opts.graceMs ?? 50);
    timer = setTimeout(() => {
      flush().finally(schedule);
    }, next - t);
    timer.unref();
  };
  schedule();

  return {
    /** On the request path: Map increments only. */
    record(principal: Principal | undefined, status: number, latencyMs: number, at = now()) {
      const partnerId = principal?.partner_id;
      if (!partnerId || principal.kind === 'admin' || principal.kind === 'anonymous' || stopped) return;
      const minute = Math.floor(at / MINUTE_MS);
      const batch = current && current.minute === minute ? current : rotate(minute);
      let cell = batch.partners.get(partnerId);
      if (!cell) {
        cell = { requests: 0, status: [0, 0, 0, 0, 0, 0], credentials: new Map() };
        batch.partners.set(partnerId, cell);
      }
      cell.requests++;
      const cls = Math.floor(status / 100);
      if (cls >= 1 && cls <= 5) (cell.status[cls] as number)++;
      // The API key or OAuth client, or a portal session's user.
      const key = principal.user_id ?? principal.credential_id;
      let cred = cell.credentials.get(key);
      if (!cred) {
        cred = { requests: 0, errors: 0, latency: new Array(API_LATENCY_BUCKETS_MS.length + 1).fill(0) };
        cell.credentials.set(key, cred);
      }
      cred.requests++;
      if (status >= 400) cred.errors++;
      let b = 0;
      while (b < API_LATENCY_BUCKETS_MS.length && latencyMs > (API_LATENCY_BUCKETS_MS[b] as number)) b++;
      (cred.latency[b] as number)++;
    },
    flush,
    /** Partner-minutes counted and not yet appended. */
    pendingCount: () => closed.reduce((n, b) => n + b.partners.size, 0) + (current?.partners.size ?? 0),
    /**
     * SIGTERM: no more timer; append everything counted, trying up to `stopAttempts` times (a broker that is away
     * for longer loses them: the counts cannot outlive the process; each failure is logged).
     */
    async stop(stopAttempts = 3, pauseMs = 500) {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (let attempt = 1; attempt <= stopAttempts; attempt++) {
        await flush(true);
        if (closed.length === 0) return;
        if (attempt < stopAttempts) await new Promise((r) => setTimeout(r, pauseMs));
      }
      opts.logger.error('api usage rollups lost at shutdown: the stream did not take them', {
        partner_minutes: closed.reduce((n, b) => n + b.partners.size, 0),
      });
    },
  };
}
export type ApiUsageRollup = ReturnType<typeof createApiUsageRollup>;
