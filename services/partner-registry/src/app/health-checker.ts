import type { Logger } from '@pep/runtime';
import type { createSafeDispatcher } from '@pep/webhooks';
import { type Kysely, sql } from 'kysely';
import { request } from 'undici';
import type { RegistryDB } from '../db/schema.ts';
import type { ProbeResult } from '../domain/integration/health.ts';

export interface HealthCheckSettings {
  intervalMs: number;
  concurrency: number;
}

/** One GET of a health URL through the SSRF-safe dispatcher: status and latency, or the error. */
export async function probeHealthUrl(
  url: string,
  dispatcher: ReturnType<typeof createSafeDispatcher>,
  timeoutMs: number,
  /** The status is in, but the body could not be drained (the connection broke): the probe stands, this reports it. */
  onDrainError: (err: unknown) => void,
): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'pep-partner-registry/health-check', accept: 'application/json, text/plain, */*' },
    });
    await res.body.dump().catch(onDrainError);
    return { latency_ms: performance.now() - started, http_status: res.statusCode };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    const msg = e.name === 'TimeoutError' || e.name === 'AbortError' ? `timeout after ${timeoutMs} ms` : (e.cause?.message ?? e.message);
    return { latency_ms: performance.now() - started, error: msg.slice(0, 500) };
  }
}

/**
 * Scheduled health checks of connected integrations. Due integrations are claimed in Postgres
 * (`FOR UPDATE SKIP LOCKED`, next check moved one interval ahead in the same statement), so N replicas
 * share the work and never check one integration twice per interval.
 */
export function startHealthChecker(opts: {
  db: Kysely<RegistryDB>;
  logger: Logger;
  settings: HealthCheckSettings;
  /** Probes and records one integration (the command path). */
  check: (integrationId: string) => Promise<unknown>;
}) {
  const { db, settings, logger } = opts;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    await sql`insert into integration_health_schedule (integration_id, next_check_at)
      select id, now() from integrations where status = 'connected' on conflict do nothing`.execute(db);
    await sql`delete from integration_health_schedule s using integrations i
      where i.id = s.integration_id and i.status <> 'connected'`.execute(db);
    const due = await sql<{ integration_id: string }>`
      update integration_health_schedule set next_check_at = now() + (${settings.intervalMs} * interval '1 millisecond')
      where integration_id in (
        select integration_id from integration_health_schedule where next_check_at <= now()
        order by next_check_at limit 100 for update skip locked)
      returning integration_id`.execute(db);
    const queue = due.rows.map((r) => r.integration_id);
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !stopped; id = queue.shift()) {
        await opts.check(id).catch((err) => logger.warn('health check failed to record', { integration_id: id, err }));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, settings.concurrency) }, worker));
  };

  const period = Math.max(50, Math.min(1000, settings.intervalMs));
  const timer = setInterval(() => {
    running = running.then(() => (stopped ? undefined : tick().catch((err) => logger.warn('health check tick failed', { err }))));
  }, period);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
