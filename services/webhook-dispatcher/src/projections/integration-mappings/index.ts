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
