import {
  CreateWebhookEndpointBody,
  IntegrationTrafficQuery,
  DeliveryStatusSchema,
  isCredentialEvent,
  latestDefinitions,
  PageQuerySchema,
  RecoverBody,
  ReplayBody,
  type RpcRequest,
  UpdateWebhookEndpointBody,
} from '@pep/contracts';
import { ConflictError, type Logger, newId, NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { handler, ok, type RpcHandler } from '@pep/service';
import {
  assertPublicUrl,
  decryptSecret,
  encryptSecret,
  generateSecret,
  type Keyring,
  needsReseal,
  SecretBoxError,
  type SsrfPolicy,
  UnsafeUrlError,
} from '@pep/webhooks';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { EndpointCommands } from '../app/endpoint-commands.ts';
import type { DispatcherDB } from '../db/schema.ts';
import { createJob, type JobRow } from '../jobs/job-runner.ts';
import { findEndpoint, listEndpoints } from '../projections/endpoints/index.ts';
import { findIntegrationOwner, integrationTraffic } from '../projections/integration-mappings/index.ts';
import { assertOwned, attemptView, deliveryView, endpointFromRow, endpointFromState, jobView, ownerFor, tenantOf } from './views.ts';

export interface HandlerDeps {
  db: Kysely<DispatcherDB>;
  logger: Logger;
  commands: EndpointCommands;
  secretKey: Keyring;
  ssrf: SsrfPolicy;
  defaultTimeoutMs: number;
  secretGraceMs: number;
  now: () => Date;
  onJobCreated: () => void;
}

const DeliveriesQuery = PageQuerySchema.extend({
  status: DeliveryStatusSchema.optional(),
  event_type: z.string().max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

/** RPC handlers behind the gateway's /v1/webhook-endpoints, /v1/deliveries, /v1/webhook-jobs and /v1/event-types. */
export function dispatcherHandlers(d: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: (req: RpcRequest<any, any, any>) => ReturnType<RpcHandler>) => handler(d.logger, fn);

  const checkUrl = async (url: string) => {
    try {
      await assertPublicUrl(url, d.ssrf);
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new ValidationError([{ path: 'url', message: `refused: ${err.message}` }]);
      throw err;
    }
  };
  const meta = (req: RpcRequest) => ({
    now: d.now(),
    partnerScope: tenantOf(req.principal),
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    correlationid: req.request_id,
  });
  const ownedEndpoint = async (req: RpcRequest) =>
    assertOwned(await findEndpoint(d.db, String(req.params.id)), tenantOf(req.principal), 'webhook endpoint');
  const ownedDelivery = async (req: RpcRequest) =>
    assertOwned(
      await d.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', String(req.params.id)).executeTakeFirst(),
      tenantOf(req.principal),
      'delivery',
    );
  const secretsView = (sealed: string, prevSealed: string | null, prevExpires: Date | null, id: string) => {
    let secret: string;
    try {
      secret = decryptSecret(sealed, d.secretKey, id);
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      throw new ConflictError(
        `the endpoint's signing secret cannot be decrypted with the configured keys (${err.message}); rotate the secret`,
        {
          extensions: { key_id: err.keyId ?? null },
        },
      );
    }
    // A previous secret that cannot be read any more (its key is gone) is simply not shown: it only served the grace period.
    let previous: string | null = null;
    if (prevSealed && prevExpires && prevExpires.getTime() > d.now().getTime()) {
      try {
        previous = decryptSecret(prevSealed, d.secretKey, id);
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
      }
    }
    return {
      secret,
      previous_secret: previous,
      previous_expires_at: previous && prevExpires ? prevExpires.toISOString() : null,
    };
  };
  /** Every live endpoint's secrets read with the keyring: under the current key, to re-seal, or unreadable. */
  const secretsReport = async () => {
    const rows = await d.db.selectFrom('webhook_endpoints').selectAll().where('deleted', '=', false).orderBy('id').execute();
    const current: string[] = [];
    const stale: { id: string; secret_sealed: string; secret: string; previous: string | null }[] = [];
    const unreadable: {
      endpoint_id: string;
      partner_id: string;
      which: 'secret' | 'previous_secret';
      key_id: string | null;
      error: string;
    }[] = [];
    for (const r of rows) {
      let secret: string;
      try {
        secret = decryptSecret(r.secret_sealed, d.secretKey, r.id);
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        unreadable.push({ endpoint_id: r.id, partner_id: r.partner_id, which: 'secret', key_id: err.keyId ?? null, error: err.message });
        continue;
      }
      // A previous secret past its grace period is dropped by the re-seal; one that cannot be read is reported and dropped.
      let previous: string | null = null;
      const inGrace = r.previous_secret_sealed && (r.previous_expires_at?.getTime() ?? 0) > d.now().getTime();
      if (inGrace) {
        try {
          previous = decryptSecret(r.previous_secret_sealed as string, d.secretKey, r.id);
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          unreadable.push({
            endpoint_id: r.id,
            partner_id: r.partner_id,
            which: 'previous_secret',
            key_id: err.keyId ?? null,
            error: err.message,
          });
        }
      }
      const stalePrevious = r.previous_secret_sealed !== null && (previous === null || needsReseal(r.previous_secret_sealed, d.secretKey));
      if (needsReseal(r.secret_sealed, d.secretKey) || stalePrevious)
        stale.push({ id: r.id, secret_sealed: r.secret_sealed, secret, previous });
      else current.push(r.id);
    }
    return { total: rows.length, current, stale, unreadable };
  };

  const job = async (kind: JobRow['kind'], endpoint: { id: string; partner_id: string }, params: Record<string, unknown>) => {
    const row = await createJob(d.db, { kind, endpoint_id: endpoint.id, partner_id: endpoint.partner_id, params }, d.now());
    d.onJobCreated();
    return ok(jobView(row), 202);
  };

  /** An endpoint may name only a connected integration of its own partner (as the dispatcher's read model knows it). */
  const checkIntegration = async (integrationId: string | null | undefined, partnerId: string) => {
    if (!integrationId) return;
    const owner = await findIntegrationOwner(d.db, integrationId);
    if (!owner || owner.partner_id !== partnerId || !owner.connected) {
      throw new ValidationError([
        { path: 'integration_id', message: `integration ${integrationId} is not a connected integration of partner ${partnerId}` },
      ]);
    }
  };

  return {
    'endpoints.create': h(async (req) => {
      const body = parseOrThrow(CreateWebhookEndpointBody, req.body ?? {});
      const partnerId = ownerFor(req.principal, body.partner_id);
      await checkUrl(body.url);
      await checkIntegration(body.integration_id, partnerId);
      const id = newId('wep', d.now().getTime());
      const secret = generateSecret();
      const { state, seq } = await d.commands.execute(
        id,
        {
          kind: 'CreateEndpoint',
          endpoint_id: id,
          partner_id: partnerId,
          secret_sealed: encryptSecret(secret, d.secretKey, id),
          settings: {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            rate_limit_per_s: body.rate_limit_per_s ?? null,
            timeout_ms: body.timeout_ms ?? d.defaultTimeoutMs,
            headers: body.headers,
            payload_format: body.payload_format,
            integration_id: body.integration_id,
          },
        },
        { ...meta(req), partnerScope: undefined },
      );
      return ok({ ...endpointFromState(state, seq), secret }, 201);
    }),

    'endpoints.list': h(async (req) => {
      const q = parseOrThrow(PageQuerySchema.extend({ partner_id: z.string().max(64).optional() }), req.query ?? {});
      const tenant = tenantOf(req.principal);
      const partnerId = tenant ?? q.partner_id;
      const rows = await listEndpoints(d.db, {
        limit: q.limit,
        ...(partnerId ? { partner_id: partnerId } : {}),
        ...(q.starting_after ? { starting_after: q.starting_after } : {}),
      });
      return ok({ data: rows.slice(0, q.limit).map((r) => endpointFromRow(r, d.secretKey)), has_more: rows.length > q.limit });
    }),

    'endpoints.get': h(async (req) => ok(endpointFromRow(await ownedEndpoint(req), d.secretKey))),

    'endpoints.update': h(async (req) => {
      const body = parseOrThrow(UpdateWebhookEndpointBody, req.body ?? {});
      const current = await ownedEndpoint(req);
      if (body.url) await checkUrl(body.url);
      await checkIntegration(body.integration_id, current.partner_id);
      const { enabled, ...changes } = body;
      const { state, seq } = await d.commands.execute(
        String(req.params.id),
        { kind: 'UpdateEndpoint', changes, ...(enabled === undefined ? {} : { enabled }) },
        meta(req),
      );
      return ok(endpointFromState(state, seq));
    }),

    'endpoints.delete': h(async (req) => {
      await ownedEndpoint(req);
      await d.commands.execute(String(req.params.id), { kind: 'DeleteEndpoint' }, meta(req));
      return ok(null, 204);
    }),

    'endpoints.secret': h(async (req) => {
      const e = await ownedEndpoint(req);
      return ok(secretsView(e.secret_sealed, e.previous_secret_sealed, e.previous_expires_at, e.id));
    }),

    'endpoints.rotate-secret': h(async (req) => {
      const e = await ownedEndpoint(req);
      const secret = generateSecret();
      const { state } = await d.commands.execute(
        e.id,
        { kind: 'RotateSecret', secret_sealed: encryptSecret(secret, d.secretKey, e.id), now: d.now(), grace_ms: d.secretGraceMs },
        meta(req),
      );
      return ok(
        secretsView(
          state.secret_sealed,
          state.previous_secret_sealed,
          state.previous_expires_at ? new Date(state.previous_expires_at) : null,
          e.id,
        ),
      );
    }),

    'endpoints.recover': h(async (req) => {
      const body = parseOrThrow(RecoverBody, req.body ?? {});
      const e = await ownedEndpoint(req);
      return job('recover', e, { since: body.since, ...(body.until ? { until: body.until } : {}) });
    }),

    'endpoints.replay': h(async (req) => {
      const body = parseOrThrow(ReplayBody, req.body ?? {});
      const e = await ownedEndpoint(req);
      return job('replay', e, {
        since: body.since,
        ...(body.until ? { until: body.until } : {}),
        ...(body.event_types ? { event_types: body.event_types } : {}),
      });
    }),

    'deliveries.list': h(async (req) => {
      const e = await ownedEndpoint(req);
      const q = parseOrThrow(DeliveriesQuery, req.query ?? {});
      let sel = d.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('endpoint_id', '=', e.id)
        .orderBy('id', 'desc')
        .limit(q.limit + 1);
      if (q.status) sel = sel.where('status', '=', q.status);
      if (q.event_type) sel = sel.where('event_type', '=', q.event_type);
      if (q.since) sel = sel.where('created_at', '>=', new Date(q.since));
      if (q.until) sel = sel.where('created_at', '<=', new Date(q.until));
      if (q.starting_after) sel = sel.where('id', '<', q.starting_after);
      const rows = await sel.execute();
      return ok({ data: rows.slice(0, q.limit).map(deliveryView), has_more: rows.length > q.limit });
    }),

    'deliveries.get': h(async (req) => ok(deliveryView(await ownedDelivery(req)))),

    'integrations.traffic': h(async (req) => {
      const { id } = parseOrThrow(z.object({ id: z.string().min(1).max(64) }), req.params);
      const q = parseOrThrow(IntegrationTrafficQuery, req.query ?? {});
      const owner = await findIntegrationOwner(d.db, id);
      const tenant = tenantOf(req.principal);
      if (!owner || (tenant !== undefined && owner.partner_id !== tenant)) throw new NotFoundError(`integration ${id} not found`);
      // Default: the 24 whole hours up to the end of the current one.
      const to = q.to ? new Date(q.to) : new Date(Math.ceil((d.now().getTime() + 1) / 3600_000) * 3600_000);
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * 3600_000);
      if (from.getTime() >= to.getTime() || to.getTime() - from.getTime() > 31 * 24 * 3600_000) {
        throw new ValidationError([{ path: 'from', message: 'from must be before to, at most 31 days apart' }]);
      }
      return ok({
        object: 'integration_traffic',
        integration_id: id,
        from: from.toISOString(),
        to: to.toISOString(),
        data: await integrationTraffic(d.db, id, from, to),
      });
    }),

    'deliveries.attempts': h(async (req) => {
      const dl = await ownedDelivery(req);
      const q = parseOrThrow(PageQuerySchema, req.query ?? {});
      let sel = d.db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', '=', dl.id)
        .orderBy('id')
        .limit(q.limit + 1);
      if (q.starting_after) sel = sel.where('id', '>', Number(q.starting_after.replace(/^att_/, '')) || 0);
      const rows = await sel.execute();
      return ok({ data: rows.slice(0, q.limit).map(attemptView), has_more: rows.length > q.limit });
    }),

    'deliveries.resend': h(async (req) => {
      const dl = await ownedDelivery(req);
      return job('resend', { id: dl.endpoint_id, partner_id: dl.partner_id }, { delivery_id: dl.id });
    }),

    'jobs.get': h(async (req) => {
      const row = await d.db.selectFrom('webhook_jobs').selectAll().where('id', '=', String(req.params.id)).executeTakeFirst();
      return ok(jobView(assertOwned(row, tenantOf(req.principal), 'job')));
    }),

    /** Operator: which endpoints' secrets the configured keyring cannot read, and which are not under the current key. */
    'ops.secrets.status': h(async () => {
      const report = await secretsReport();
      return ok({
        current_key: d.secretKey.current,
        keys: [...d.secretKey.keys.keys()],
        endpoints: report.total,
        under_current_key: report.current.length,
        to_reseal: report.stale.map((r) => r.id),
        unreadable: report.unreadable,
      });
    }),

    /**
     * Operator: re-encrypts every endpoint secret under the current key. The stream is the source of truth, so each
     * endpoint gets a `webhook_endpoint.secret_resealed` event through its own aggregate (never a table update);
     * what cannot be read is reported, not touched. `dry_run: true` only reports.
     */
    'ops.secrets.reencrypt': h(async (req) => {
      const dryRun = (req.body as { dry_run?: unknown } | undefined)?.dry_run === true;
      const report = await secretsReport();
      const resealed: string[] = [];
      const failed: { endpoint_id: string; error: string }[] = [];
      for (const r of report.stale) {
        if (dryRun) continue;
        try {
          await d.commands.execute(
            r.id,
            {
              kind: 'ResealSecret',
              key_id: d.secretKey.current,
              expected_secret_sealed: r.secret_sealed,
              secret_sealed: encryptSecret(r.secret, d.secretKey, r.id),
              previous_secret_sealed: r.previous === null ? null : encryptSecret(r.previous, d.secretKey, r.id),
            },
            { now: d.now(), correlationid: req.request_id },
          );
          resealed.push(r.id);
        } catch (err) {
          failed.push({ endpoint_id: r.id, error: (err as Error).message });
        }
      }
      d.logger.info('endpoint secrets re-encrypted', {
        current_key: d.secretKey.current,
        resealed: resealed.length,
        failed: failed.length,
        unreadable: report.unreadable.length,
        dry_run: dryRun,
      });
      return ok({
        current_key: d.secretKey.current,
        dry_run: dryRun,
        endpoints: report.total,
        already_current: report.current.length,
        resealed: dryRun ? report.stale.map((r) => r.id) : resealed,
        failed,
        unreadable: report.unreadable,
      });
    }),

    'event-types.list': h(async () => {
      const data = latestDefinitions().map((def) => {
        let schema: Record<string, unknown>;
        try {
          schema = z.toJSONSchema(def.data, { unrepresentable: 'any', io: 'output' }) as Record<string, unknown>;
        } catch {
          schema = {};
        }
        return {
          type: def.type,
          version: def.version,
          description: def.description,
          category: def.category,
          origin: def.origin,
          deliverable: !isCredentialEvent(def.type),
          schema,
        };
      });
      return ok({ data });
    }),
  };
}

export { NotFoundError };
