// bench/dispatch/mapping-cpu.ts: CPU time of one evaluation of the bench's typical mapping, through compileMapping
// (the fast path, fast-path.ts) and through JSONata alone, with the event parse the dispatcher does per attempt.
// CPU time (process.cpuUsage), not wall time, so other work on the machine moves it much less than deliveries/s.
// `node --import tsx bench/dispatch/mapping-cpu.ts` prints one JSON line; run.ts reports it beside mapped_ratio.
import { compileMapping } from '@pep/mapping';
import jsonata from 'jsonata';

export const BENCH_MAPPING =
  '{ "contact": { "email": email, "name": first_name & " " & last_name }, "external_id": lead_id, "channel": $uppercase(source), "kind": $event.type }';

const ENVELOPE = JSON.stringify({
  specversion: '1.0',
  id: 'evt_bench',
  type: 'lead.created',
  time: '2026-01-01T00:00:00.000Z',
  source: 'bench',
  data: { lead_id: 'l_1', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', source: 'web', tags: ['a', 'b'] },
});

async function cpuPerEval(n: number, evaluate: (ev: Record<string, unknown>) => Promise<unknown>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await evaluate(JSON.parse(ENVELOPE) as Record<string, unknown>);
    const c = process.cpuUsage(t0);
    best = Math.min(best, (c.user + c.system) / n);
  }
  return Math.round(best * 10) / 10;
}

export async function mappingCpu(n = 5000): Promise<{ fast_path: boolean; mapping_cpu_us: number; jsonata_cpu_us: number }> {
  const m = compileMapping(BENCH_MAPPING);
  const expr = jsonata(BENCH_MAPPING);
  const env = (ev: Record<string, unknown>) => ({
    id: String(ev.id),
    type: String(ev.type),
    time: String(ev.time),
    source: String(ev.source),
  });
  const mapping_cpu_us = await cpuPerEval(n, async (ev) => {
    const r = await m.evaluate({ ...env(ev), data: ev.data });
    if (!r.ok) throw new Error(`the bench mapping failed: ${r.error.message}`);
  });
  const jsonata_cpu_us = await cpuPerEval(n, async (ev) => JSON.stringify(await expr.evaluate(ev.data, { event: env(ev) })));
  return { fast_path: m.fast, mapping_cpu_us, jsonata_cpu_us };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await mappingCpu()));
