// How long each projection took, after NATS came back, to apply everything its filter held in the stream at that
// moment. Checkpoints are read from each service's own database (projection_checkpoints), not over NATS RPC, so
// the figure is the projection's catch-up and not the moment the service's RPC answered again; the target of each
// projection is the last sequence on its filter that the server had stored before it accepted connections again.
import { createDb } from '@pep/db';
import { sql } from 'kysely';
import type { ServiceName, Stack, StreamEntry } from './stack.ts';

/** Each projection's subject filter, as its service reports it (asked while the stack is healthy). */
export async function projectionFilters(stack: Stack, services: ServiceName[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of services)
    for (const p of await stack.projections(s)) {
      if (!p.filter) throw new Error(`ops.projections of ${s} does not report the filter of ${p.name}`);
      out.set(`${s}/${p.name}`, p.filter);
    }
  return out;
}

/**
 * The gateway's identity: its persisted projection (checkpoint in the gateway's database, like any projection) and
 * its in-memory fold, which is what authenticates requests (read from the gateway's /metrics, where
 * `projection_applied_seq` reports what it has folded; see `watchCheckpoints`' `memory`).
 */
export function gatewayIdentity(stack: Stack): { filters: Map<string, string>; memory: Map<string, string> } {
  const filter = `${stack.names.SUBJECT_PREFIX}.agg.>`;
  return {
    filters: new Map([
      ['gateway/gateway-identity', filter],
      ['gateway/gateway-identity-memory', filter],
    ]),
    memory: new Map([['gateway/gateway-identity-memory', `${stack.gatewayUrl}/metrics`]]),
  };
}

/** NATS subject matching: `*` is one token, `>` the rest. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/**
 * Polls every projection's checkpoint in its database every 100 ms (started before the fault) and keeps each change
 * with its time; `settle(stream, backAt)` stops polling and says, per projection, how many ms after `backAt` its
 * checkpoint first reached its target (0: it already had at `backAt`), or null if it did not within `timeoutMs`.
 */
export function watchCheckpoints(
  stack: Stack,
  filters: Map<string, string>,
  opts: { memory?: Map<string, string>; timeoutMs?: number } = {},
) {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const memory = opts.memory ?? new Map<string, string>();
  const services = [...new Set([...filters.keys()].filter((k) => !memory.has(k)).map((k) => k.split('/')[0] as ServiceName))];
  const dbs = services.map((s) => ({
    s,
    db: createDb<Record<string, never>>(stack.pgTemplate.replace('{db}', `${stack.names.DB_PREFIX}${s.replaceAll('-', '_')}`), { max: 1 }),
  }));
  const samples = new Map<string, { at: number; seq: number }[]>();
  const keep = (key: string, at: number, seq: number) => {
    const list = samples.get(key) ?? [];
    if (list.at(-1)?.seq !== seq) list.push({ at, seq });
    samples.set(key, list);
  };
  let stopped = false;
  let pollErrors = 0;
  // A fold held only in memory, from its process's /metrics: the figure with the moment the process read it
  // (`projection_applied_read_at_seconds`), so a scrape slowed by another source does not move the sample.
  const readMemory = async (key: string, url: string) => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const text = await r.text();
      const name = key.split('/')[1] ?? '';
      const m = new RegExp(`^projection_applied_seq\\{[^}]*projection="${name}"[^}]*\\} (\\d+)$`, 'm').exec(text);
      const readAt = /^projection_applied_read_at_seconds(?:\{[^}]*\})? ([\d.e+]+)$/m.exec(text);
      if (!m || !readAt) throw new Error(`${url} reports no projection_applied_seq of ${name} with its read time`);
      keep(key, Math.round(Number(readAt[1]) * 1000), Number(m[1]));
    } catch {
      pollErrors++;
    }
  };
  // Each source on its own loop, every 100 ms: one that hangs (a connection attempt) delays no other's samples.
  const cap = Date.now() + 300_000;
  const every = async (read: () => Promise<void>) => {
    while (!stopped && Date.now() < cap) {
      await read();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const poll = Promise.all([
    ...dbs.map(({ s, db }) =>
      every(async () => {
        try {
          const r = await sql<{ name: string; seq: string }>`select name, seq::text as seq from projection_checkpoints`.execute(db);
          const at = Date.now();
          for (const row of r.rows) keep(`${s}/${row.name}`, at, Number(row.seq));
        } catch {
          pollErrors++;
        }
      }),
    ),
    ...[...memory].map(([key, url]) => every(() => readMemory(key, url))),
  ]);
  return {
    async settle(stream: StreamEntry[], backAt: number) {
      stopped = true;
      await poll;
      await Promise.all(dbs.map(({ db }) => db.destroy()));
      const byProjection: Record<string, { target: number; ms: number | null }> = {};
      // The first event on each filter stored after the engine was back: how long until the projection applied it
      // (from `backAt`, and from when it was stored). It shows how soon the consumer resumed.
      const resumed: Record<string, { after_back_ms: number | null; after_stored_ms: number | null }> = {};
      for (const [key, filter] of filters) {
        let target = 0;
        for (const m of stream) if (m.storedAt < backAt && m.seq > target && subjectMatches(filter, m.subject)) target = m.seq;
        const list = samples.get(key) ?? [];
        const atBack = list.filter((x) => x.at <= backAt).at(-1);
        const reached = list.find((x) => x.at > backAt && x.seq >= target);
        const ms = atBack && atBack.seq >= target ? 0 : reached ? reached.at - backAt : null;
        byProjection[key] = { target, ms: ms !== null && ms > timeoutMs ? null : ms };
        const next = stream.find((m) => m.storedAt >= backAt && subjectMatches(filter, m.subject));
        if (next) {
          const got = list.find((x) => x.seq >= next.seq);
          resumed[key] = { after_back_ms: got ? got.at - backAt : null, after_stored_ms: got ? got.at - next.storedAt : null };
        }
      }
      const times = Object.values(byProjection).map((x) => x.ms);
      return {
        max_ms: times.includes(null) ? null : Math.max(0, ...(times as number[])),
        by_projection: Object.fromEntries(Object.entries(byProjection).map(([k, v]) => [k, v.ms])),
        never_within_ms: timeoutMs,
        first_new_event_applied: resumed,
        poll_errors: pollErrors,
      };
    },
  };
}
