import { randomUUID } from 'node:crypto';

/** One check of the partner flag webhook spec (docs/partner-flag-webhook-spec.md). */
export interface CheckResult {
  id: string;
  title: string;
  status: 'pass' | 'fail' | 'warn';
  detail: string;
}

export interface ConformanceReport {
  base_url: string;
  endpoint: string;
  started_at: string;
  checks: CheckResult[];
  latency_ms: { p50: number; p95: number; p99: number; max: number } | null;
  success_rate: number | null;
  calls: number;
  passed: boolean;
}

export interface ConformanceOptions {
  baseUrl: string;
  token: string;
  /** Calls of the latency / success-rate run. */
  calls?: number;
  flagKey?: string;
  /** The partner program's limits. */
  targetMs?: number;
  limitMs?: number;
  minSuccessRate?: number;
}

interface Answer {
  status: number;
  ms: number;
  json: unknown;
  headers: Headers;
  error?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/**
 * Checks a partner's flag webhook against the spec: Bearer auth enforced, a replayed Idempotency-Key not
 * toggling twice, the error shape, latency (target and limit) and the success rate over N calls.
 */
export async function runConformance(o: ConformanceOptions): Promise<ConformanceReport> {
  const endpoint = `${o.baseUrl.replace(/\/+$/, '')}/webhook/pathcanary`;
  const flagKey = o.flagKey ?? 'pathcanary-conformance-check';
  const limitMs = o.limitMs ?? 2000;
  const targetMs = o.targetMs ?? 500;
  const calls = o.calls ?? 50;
  const minRate = o.minSuccessRate ?? 0.99;
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => checks.push(c);

  const call = async (opts: { auth?: string | null; key?: string | null; body?: unknown; raw?: string }): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (opts.auth !== null) headers.authorization = opts.auth ?? `Bearer ${o.token}`;
    if (opts.key !== null) headers['idempotency-key'] = opts.key ?? randomUUID();
    const started = performance.now();
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: opts.raw ?? JSON.stringify(opts.body),
        signal: AbortSignal.timeout(limitMs),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: res.status, ms: performance.now() - started, json, headers: res.headers };
    } catch (err) {
      return {
        status: 0,
        ms: performance.now() - started,
        json: null,
        headers: new Headers(),
        error: (err as Error).name === 'TimeoutError' ? `no answer within ${limitMs} ms` : (err as Error).message,
      };
    }
  };
  const toggle = (action: 'disable' | 'enable', key?: string) => ({
    flag_key: flagKey,
    action,
    incident_id: `conformance-${randomUUID().slice(0, 8)}`,
    reason: 'PathCanary partner conformance kit',
    requested_at: new Date().toISOString(),
    ...(key ? {} : {}),
  });
  const isSuccess = (a: Answer) => a.status >= 200 && a.status < 300 && (a.json as { success?: unknown } | null)?.success === true;
  const hasErrorShape = (a: Answer) => {
    const j = a.json as { success?: unknown; error?: unknown } | null;
    return j !== null && typeof j === 'object' && j.success === false && j.error !== undefined;
  };
  const state = async (): Promise<boolean | undefined> => {
    try {
      const res = await fetch(`${endpoint}/flags/${encodeURIComponent(flagKey)}`, {
        headers: { authorization: `Bearer ${o.token}` },
        signal: AbortSignal.timeout(limitMs),
      });
      if (res.status !== 200) return undefined;
      const j = (await res.json()) as { enabled?: unknown };
      return typeof j.enabled === 'boolean' ? j.enabled : undefined;
    } catch {
      return undefined;
    }
  };

  // 1. Bearer auth is enforced.
  const noAuth = await call({ auth: null, body: toggle('disable') });
  const wrongAuth = await call({ auth: 'Bearer not-the-token-0000', body: toggle('disable') });
  const authOk = noAuth.status === 401 && wrongAuth.status === 401;
  add({
    id: 'auth',
    title: 'Bearer auth enforced (401 without or with a wrong token)',
    status: authOk ? 'pass' : noAuth.status === 403 || wrongAuth.status === 403 ? 'warn' : 'fail',
    detail: `no token → ${noAuth.status || noAuth.error}, wrong token → ${wrongAuth.status || wrongAuth.error}`,
  });

  // 2. A valid call succeeds with {"success": true}.
  const first = await call({ body: toggle('disable') });
  add({
    id: 'toggle',
    title: 'A valid disable answers 2xx with {"success": true}',
    status: isSuccess(first) ? 'pass' : 'fail',
    detail: `${first.status || first.error} ${JSON.stringify(first.json)?.slice(0, 200)}`,
  });

  // 3. A replayed Idempotency-Key does not toggle twice: disable(K1), enable(K2), replay disable(K1).
  const k1 = `conformance-${randomUUID()}`;
  const disableBody = toggle('disable');
  const d1 = await call({ key: k1, body: disableBody });
  const e2 = await call({ body: toggle('enable') });
  const replay = await call({ key: k1, body: disableBody });
  const after = await state();
  const replayedHeader = replay.headers.get('idempotent-replayed');
  let replayStatus: CheckResult['status'];
  let replayDetail: string;
  if (!isSuccess(d1) || !isSuccess(e2)) {
    replayStatus = 'fail';
    replayDetail = `setup calls failed: disable → ${d1.status || d1.error}, enable → ${e2.status || e2.error}`;
  } else if (!isSuccess(replay)) {
    replayStatus = 'fail';
    replayDetail = `the replay must answer like the first call (2xx, success true); got ${replay.status || replay.error}`;
  } else if (after !== undefined) {
    replayStatus = after === true ? 'pass' : 'fail';
    replayDetail = after ? 'flag still enabled after the replay (state endpoint)' : 'the replay disabled the flag again: toggled twice';
  } else if (replayedHeader === 'true') {
    replayStatus = 'pass';
    replayDetail = 'replay answered with Idempotent-Replayed: true (no state endpoint to double-check)';
  } else {
    replayStatus = 'warn';
    replayDetail =
      'replay accepted, but neither the optional state endpoint nor Idempotent-Replayed lets the kit see whether it toggled again';
  }
  add({ id: 'idempotency', title: 'A replayed Idempotency-Key does not toggle twice', status: replayStatus, detail: replayDetail });

  // 4. Errors have the spec's shape.
  const invalid = await call({ body: { action: 'disable' } });
  const shapeOk = invalid.status >= 400 && invalid.status < 500 && hasErrorShape(invalid) && hasErrorShape(noAuth);
  add({
    id: 'errors',
    title: 'Errors are 4xx with {"success": false, "error": {...}}',
    status: shapeOk ? 'pass' : invalid.status >= 400 && invalid.status < 500 ? 'warn' : 'fail',
    detail: `missing flag_key → ${invalid.status || invalid.error} ${JSON.stringify(invalid.json)?.slice(0, 160)}; 401 body ${JSON.stringify(noAuth.json)?.slice(0, 120)}`,
  });

  // 5 + 6. Latency and success rate over N calls (alternating disable/enable, fresh keys).
  const times: number[] = [];
  let ok = 0;
  const failures: string[] = [];
  for (let i = 0; i < calls; i++) {
    const a = await call({ body: toggle(i % 2 === 0 ? 'disable' : 'enable') });
    times.push(a.ms);
    if (isSuccess(a)) ok++;
    else if (failures.length < 3) failures.push(String(a.status || a.error));
  }
  // Leave the flag enabled, as we found it.
  await call({ body: toggle('enable') });
  const sorted = [...times].sort((x, y) => x - y);
  const latency = calls
    ? { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] as number }
    : null;
  const rate = calls ? ok / calls : null;
  if (latency) {
    add({
      id: 'latency',
      title: `Latency: p95 under ${targetMs} ms (target), every call under ${limitMs} ms (limit)`,
      status: latency.max >= limitMs ? 'fail' : latency.p95 >= targetMs ? 'warn' : 'pass',
      detail: `p50 ${latency.p50.toFixed(1)} ms, p95 ${latency.p95.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms over ${calls} calls`,
    });
  }
  if (rate !== null) {
    add({
      id: 'success_rate',
      title: `Success rate at least ${(minRate * 100).toFixed(1)} %`,
      status: rate >= minRate ? 'pass' : 'fail',
      detail: `${ok}/${calls} succeeded (${(rate * 100).toFixed(1)} %)${failures.length ? `; first failures: ${failures.join(', ')}` : ''}`,
    });
  }
  return {
    base_url: o.baseUrl,
    endpoint,
    started_at: new Date().toISOString(),
    checks,
    latency_ms: latency,
    success_rate: rate,
    calls,
    passed: checks.every((c) => c.status !== 'fail'),
  };
}

/** A readable report: one line per check, then the verdict. */
export function formatReport(r: ConformanceReport, color = false): string {
  const paint = (s: string, code: number) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const mark = { pass: paint('PASS', 32), warn: paint('WARN', 33), fail: paint('FAIL', 31) };
  const lines = [
    `Partner flag webhook conformance: ${r.endpoint}`,
    '',
    ...r.checks.flatMap((c) => [`  ${mark[c.status]}  ${c.title}`, `        ${c.detail}`]),
    '',
    `  ${r.checks.filter((c) => c.status === 'pass').length} passed, ${r.checks.filter((c) => c.status === 'warn').length} warnings, ${r.checks.filter((c) => c.status === 'fail').length} failed`,
    `  Verdict: ${r.passed ? paint('CONFORMANT', 32) : paint('NOT CONFORMANT', 31)}`,
  ];
  return `${lines.join('\n')}\n`;
}
