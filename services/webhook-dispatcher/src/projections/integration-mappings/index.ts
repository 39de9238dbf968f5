import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type CompiledMapping, compileMapping, MappingCompileError, resolveMapping } from '@pep/mapping';
import type { Logger } from '@pep/runtime';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DispatcherDB } from '../../db/schema.ts';

export const INTEGRATION_MAPPINGS_PROJECTION = 'integration-mappings';

export const handledEventTypes = [
  'integration.connected',
  'integration.disconnected',
  'integration.mapping_set',
  'integration.mapping_removed',
] as const;

interface MappingData {
  integration_id: string;
  event_type: string;
  version: number;
  expression?: string;
}

/**
 * The dispatcher's own read model of integrations: who owns each (from the envelope's partner id) and the
 * mappings by event type. Folded from the integration subjects; the registry's tables are never read.
 */
export function integrationMappingsProjection(prefix: string): Projection<DispatcherDB> {
  return {
    name: INTEGRATION_MAPPINGS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'integration'),
    async apply(trx: Transaction<DispatcherDB>, events: StoredEvent[]) {
      for (const ev of events) {
        switch (ev.type) {
          case 'integration.connected':
          case 'integration.disconnected': {
            const id = (ev.data as { integration_id: string }).integration_id;
            if (!ev.partnerid) continue;
            const connected = ev.type === 'integration.connected';
            await trx
              .insertInto('integration_owners')
              .values({ integration_id: id, partner_id: ev.partnerid, connected })
              .onConflict((oc) => oc.column('integration_id').doUpdateSet({ connected }))
              .execute();
            break;
          }
          case 'integration.mapping_set':
          case 'integration.mapping_removed': {
            const d = ev.data as MappingData;
            const expression = ev.type === 'integration.mapping_set' ? (d.expression ?? null) : null;
            await trx
              .insertInto('integration_mappings')
              .values({ integration_id: d.integration_id, event_type: d.event_type, version: d.version, expression, seq: ev.seq })
              .onConflict((oc) => oc.columns(['integration_id', 'event_type']).doUpdateSet({ version: d.version, expression, seq: ev.seq }))
              .execute();
            break;
          }
          default:
            break;
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('integration_mappings').execute();
      await trx.deleteFrom('integration_owners').execute();
    },
  };
}

export function findIntegrationOwner(db: Kysely<DispatcherDB>, integrationId: string) {
  return db.selectFrom('integration_owners').selectAll().where('integration_id', '=', integrationId).executeTakeFirst();
}

/** A mapping as the dispatcher applies it: compiled once per version. */
export interface ActiveMapping {
  integrationId: string;
  eventType: string;
  version: number;
  compiled: CompiledMapping;
}

/**
 * Compiled mappings in memory, refreshed from the read model when its high-water mark moves (one cheap
 * `max(seq)` query per refresh). An expression is compiled once per (integration, event type, version).
 * A stored expression that no longer compiles (saved under older rules) is skipped and reported, never fatal.
 */
export class MappingCache {
  private byIntegration = new Map<string, Map<string, ActiveMapping>>();
  private seen = -1;

  constructor(
    private readonly db: Kysely<DispatcherDB>,
    private readonly logger?: Logger,
  ) {}

  async refresh(): Promise<void> {
    const row = await this.db.selectFrom('integration_mappings').select(sql<string | null>`max(seq)`.as('hw')).executeTakeFirst();
    const hw = Number(row?.hw ?? 0);
    if (hw === this.seen) return;
    const rows = await this.db.selectFrom('integration_mappings').selectAll().where('expression', 'is not', null).execute();
    const next = new Map<string, Map<string, ActiveMapping>>();
    for (const r of rows) {
      const prior = this.byIntegration.get(r.integration_id)?.get(r.event_type);
      let active = prior && prior.version === r.version ? prior : undefined;
      if (!active) {
        try {
          active = {
            integrationId: r.integration_id,
            eventType: r.event_type,
            version: r.version,
            compiled: compileMapping(r.expression ?? ''),
          };
        } catch (err) {
          if (!(err instanceof MappingCompileError)) throw err;
          this.logger?.warn('stored mapping does not compile; skipped', {
            integration_id: r.integration_id,
            event_type: r.event_type,
            version: r.version,
            error: err.message,
          });
          continue;
        }
      }
      let m = next.get(r.integration_id);
      if (!m) {
        m = new Map();
        next.set(r.integration_id, m);
      }
      m.set(r.event_type, active);
    }
    this.byIntegration = next;
    this.seen = hw;
  }

  /** The mapping for an event type of an integration (exact, longest `prefix.*`, then `*`), if any. */
  get(integrationId: string | null, eventType: string): ActiveMapping | undefined {
    if (!integrationId) return undefined;
    const m = this.byIntegration.get(integrationId);
    return m ? resolveMapping(m, eventType)?.mapping : undefined;
  }
}

/** The error class of a failed attempt as the traffic report groups it (HTTP errors split into 4xx / 5xx). */
const ERROR_CLASS = sql<string>`case
  when a.error_class = 'http_error' and a.status_code between 400 and 499 then 'http_4xx'
  when a.error_class = 'http_error' and a.status_code >= 500 then 'http_5xx'
  else coalesce(a.error_class, 'other') end`;

/**
 * Per hour, the attempts to the endpoints that name the integration (as linked now): calls, successes, latency
 * percentiles of the attempts that were sent, and failures by class. Read from the dispatcher's own attempt log.
 */
export async function integrationTraffic(db: Kysely<DispatcherDB>, integrationId: string, from: Date, to: Date) {
  const r = await sql<{
    hour: Date;
    calls: string;
    succeeded: string;
    p50: number | null;
    p95: number | null;
    p99: number | null;
    errors: Record<string, number> | null;
  }>`
    with a as (
      select date_trunc('hour', a.started_at) as hour, a.outcome, a.latency_ms, a.error_class, a.status_code
      from webhook_attempts a join webhook_endpoints e on e.id = a.endpoint_id
      where e.integration_id = ${integrationId} and a.started_at >= ${from} and a.started_at < ${to}
    ),
    classes as (
      select hour, cls, count(*)::int as n from (select a.hour, ${ERROR_CLASS} as cls from a where a.outcome = 'failed') f group by hour, cls
    )
    select a.hour, count(*) as calls, count(*) filter (where a.outcome = 'succeeded') as succeeded,
      percentile_cont(0.5) within group (order by a.latency_ms) filter (where a.error_class is distinct from 'mapping_error') as p50,
      percentile_cont(0.95) within group (order by a.latency_ms) filter (where a.error_class is distinct from 'mapping_error') as p95,
      percentile_cont(0.99) within group (order by a.latency_ms) filter (where a.error_class is distinct from 'mapping_error') as p99,
      (select jsonb_object_agg(c.cls, c.n) from classes c where c.hour = a.hour) as errors
    from a group by a.hour order by a.hour`.execute(db);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return r.rows.map((row) => {
    const calls = Number(row.calls);
    const succeeded = Number(row.succeeded);
    return {
      hour: new Date(row.hour).toISOString(),
      calls,
      succeeded,
      success_rate: calls ? Math.round((succeeded / calls) * 10_000) / 10_000 : 0,
      latency_ms: { p50: round(row.p50), p95: round(row.p95), p99: round(row.p99) },
      errors: row.errors ?? {},
    };
  });
}
