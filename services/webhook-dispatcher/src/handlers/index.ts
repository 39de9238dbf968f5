import {
  CreateWebhookEndpointBody,
  DeliveryStatusSchema,
  isCredentialEvent,
  latestDefinitions,
  PageQuerySchema,
  RecoverBody,
  ReplayBody,
  type RpcRequest,
  UpdateWebhookEndpointBody,
} from '@pep/contracts';
import { type Logger, newId, NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { handler, ok, type RpcHandler } from '@pep/service';
import { assertPublicUrl, decryptSecret, encryptSecret, generateSecret, type SsrfPolicy, UnsafeUrlError } from '@pep/webhooks';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { EndpointCommands } from '../app/endpoint-commands.ts';
import type { DispatcherDB } from '../db/schema.ts';
import { createJob, type JobRow } from '../jobs/job-runner.ts';
import { findEndpoint, listEndpoints } from '../projections/endpoints/index.ts';
import { findIntegrationOwner } from '../projections/integration-mappings/index.ts';
import { assertOwned, attemptView, deliveryView, endpointFromRow, endpointFromState, jobView, ownerFor, tenantOf } from './views.ts';

export interface HandlerDeps {
  db: Kysely<DispatcherDB>;
  logger: Logger;
  commands: EndpointCommands;
  secretKey: Buffer;
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
    const prevValid = prevSealed && prevExpires && prevExpires.getTime() > d.now().getTime();
    return {
      secret: decryptSecret(sealed, d.secretKey, id),
      previous_secret: prevValid ? decryptSecret(prevSealed, d.secretKey, id) : null,
      previous_expires_at: prevValid ? prevExpires.toISOString() : null,
    };
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
      return ok({ data: rows.slice(0, q.limit).map(endpointFromRow), has_more: rows.length > q.limit });
    }),

    'endpoints.get': h(async (req) => ok(endpointFromRow(await ownedEndpoint(req)))),

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
