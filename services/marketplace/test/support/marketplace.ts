import type { PlatformEvent, Principal, RpcReply, RpcRequest } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest } from '@pep/db';
import { aggregateSubject, appendToAggregate, lastSubjectSeq, pgDeadLetters, type ProjectionRunner, startProjection } from '@pep/events';
import { baseConfigSchema, createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, type TestNames } from '@pep/testing';
import { type MarketplaceSettings, marketplaceConfigSchema } from '../../src/config.ts';
import { marketplaceMigrations } from '../../src/db/migrations/index.ts';
import type { MarketplaceDB } from '../../src/db/schema.ts';
import { createMarketplaceRuntime, marketplaceProjections, SERVICE_NAME } from '../../src/service.ts';

export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'key_adm1nx00000000000000000000' };
export const anonymous: Principal = { kind: 'anonymous', scopes: [], credential_id: 'anonymous' };
export const partnerPrincipal = (partnerId: string): Principal => ({
  kind: 'partner',
  partner_id: partnerId,
  scopes: ['read:*', 'write:*'],
  credential_id: `key_${partnerId}`,
});

export const envelope = (type: string, data: unknown, partnerid?: string): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'urn:test',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data,
  ...(partnerid ? { partnerid } : {}),
});

/**
 * The marketplace's handlers, projections and background worker wired in-process against this test's own
 * stream and database (real NATS, real Postgres), without the RPC transport. Partner and application events
 * are appended to their aggregates' subjects as partner-registry appends them.
 */
export async function startMarketplace(names: TestNames, opts: { background?: boolean } = {}) {
  const t = await createTestBus(names, [SERVICE_NAME]);
  const url = dbUrl(names, SERVICE_NAME);
  await ensureDatabase(url);
  const db = createDb<MarketplaceDB>(url);
  await migrateToLatest(db, marketplaceMigrations);
  const logger = createLogger(SERVICE_NAME, 'silent');
  const config = baseConfigSchema.extend(marketplaceConfigSchema.shape).parse({ ...names, NODE_ENV: 'test' }) as ReturnType<
    typeof baseConfigSchema.parse
  > &
    MarketplaceSettings;
  const projections = new Map<string, ProjectionRunner>();
  for (const p of marketplaceProjections(names.SUBJECT_PREFIX)) {
    projections.set(p.name, await startProjection({ bus: t.bus, db, projection: p, deadLetters: pgDeadLetters(db), logger }));
  }
  const runtime = createMarketplaceRuntime({ bus: t.bus, db, config, logger, projections, deadLetters: pgDeadLetters(db) });
  const stopBackground = opts.background ? await runtime.startBackground() : async () => undefined;
  let n = 0;
  const call = async (
    pattern: string,
    principal: Principal,
    req: { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown } = {},
  ): Promise<RpcReply> => {
    const fn = runtime.handlers[pattern];
    if (!fn) throw new Error(`no handler ${pattern}`);
    const r: RpcRequest = { principal, params: req.params ?? {}, query: req.query ?? {}, body: req.body, request_id: `req_${++n}` };
    return fn(r);
  };
  const ok = async <T = Record<string, unknown>>(...args: Parameters<typeof call>): Promise<T> => {
    const r = await call(...args);
    if (!r.ok) throw new Error(`${args[0]} failed: ${JSON.stringify(r.problem)}`);
    return r.body as T;
  };

  /** Appends events to an aggregate of another service (partner, application) as its owner would. */
  const append = async (kind: string, id: string, ...events: PlatformEvent[]) => {
    const subject = aggregateSubject(names.SUBJECT_PREFIX, kind, id);
    const acks = await appendToAggregate(t.bus, subject, await lastSubjectSeq(t.bus, subject), events);
    return acks[acks.length - 1]?.seq ?? 0;
  };
  const settle = async () => {
    for (const r of projections.values()) await r.waitFor(undefined, 10_000);
  };

  return {
    bus: t.bus,
    db,
    projections,
    call,
    ok,
    append,
    settle,
    async partner(partnerId: string, type: 'technology' | 'strategic' | 'reseller' = 'strategic', name = `Partner ${partnerId}`) {
      return append(
        'partner',
        partnerId,
        envelope('partner.created', { partner_id: partnerId, name, type, contact_email: 'ops@example.com', tier: 'standard' }),
      );
    },
    /** Publishes an application (the snapshot `application.published` carries); returns its listing id. */
    async publish(partnerId: string, applicationId: string, fields: { name: string; description: string }) {
      await append(
        'application',
        applicationId,
        envelope(
          'application.published',
          {
            application_id: applicationId,
            partner_id: partnerId,
            status: 'published',
            name: fields.name,
            description: fields.description,
            redirect_uris: [],
            scopes: ['read:leads'],
            webhook_url: null,
            health_url: null,
            privacy_url: 'https://example.com/privacy',
            terms_url: 'https://example.com/terms',
            published_at: new Date().toISOString(),
          },
          partnerId,
        ),
      );
      return `lst_${applicationId.replace(/^app_/, '')}`;
    },
    async stop() {
      await stopBackground();
      for (const r of projections.values()) await r.stop();
      await db.destroy();
      await t.cleanup();
    },
  };
}
export type Marketplace = Awaited<ReturnType<typeof startMarketplace>>;

export const statusOf = (r: RpcReply) => (r.ok ? r.status : r.problem.status);

/** The stream oracle every service's tests fold. */
export { readAll } from '@pep/testing';
