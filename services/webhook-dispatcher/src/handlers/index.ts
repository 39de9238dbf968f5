import {
  CreateWebhookEndpointBody,
  DeliveryStatusSchema,
  IntegrationTrafficQuery,
  isCredentialEvent,
  latestDefinitions,
  PageQuerySchema,
  RecoverBody,
  ReplayBody,
  type RpcRequest,
  UpdateWebhookEndpointBody,
} from '@pep/contracts';
import { type Logger, parseOrThrow } from '@pep/runtime';
import { actingPartner, handler, listScope, ok, type RpcHandler } from '@pep/service';
import type { Keyring } from '@pep/webhooks';
import { z } from 'zod';
import type { deliveryLog } from '../app/delivery-log.ts';
import { type EndpointAdmin, originOf } from '../app/endpoint-admin.ts';
import type { EndpointCommandOrigin } from '../app/endpoints.ts';
import type { secretKeys } from '../app/secret-keys.ts';
import { attemptView, deliveryView, endpointFromRow, endpointFromState, jobView } from './views.ts';

export interface HandlerDeps {
  logger: Logger;
  endpoints: EndpointAdmin;
  log: ReturnType<typeof deliveryLog>;
  keys: ReturnType<typeof secretKeys>;
  secretKey: Keyring;
}

const DeliveriesQuery = PageQuerySchema.extend({
  status: DeliveryStatusSchema.optional(),
  event_type: z.string().max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
const IdParams = z.object({ id: z.coerce.string() });
const ListEndpointsQuery = PageQuerySchema.extend({ partner_id: z.string().max(64).optional() });
const ReencryptBody = z.object({ dry_run: z.unknown().optional() }).loose().optional();

/** A JSON schema of each event type's data (a type zod cannot express gets an empty schema, logged). */
function eventTypeCatalogue(logger: Logger) {
  return latestDefinitions().map((def) => {
    let schema: Record<string, unknown>;
    try {
      schema = z.toJSONSchema(def.data, { unrepresentable: 'any', io: 'output' });
    } catch (err) {
      logger.warn('event type schema not representable as JSON schema; listed with an empty one', { type: def.type, err });
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
}

/** RPC handlers behind the gateway's /v1/webhook-endpoints, /v1/deliveries, /v1/webhook-jobs and /v1/event-types. */
export function dispatcherHandlers(d: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: (req: RpcRequest) => ReturnType<RpcHandler>) => handler(d.logger, fn);
  const idOf = (req: RpcRequest) => parseOrThrow(IdParams, req.params).id;
  const origin = (req: RpcRequest): EndpointCommandOrigin => originOf(req);
  const ownedEndpoint = (req: RpcRequest) => d.endpoints.owned(idOf(req), req.principal);
  const ownedDelivery = (req: RpcRequest) => d.log.delivery(idOf(req), req.principal);

  return {
    'endpoints.create': h(async (req) => {
      const body = parseOrThrow(CreateWebhookEndpointBody, req.body ?? {});
      const partnerId = actingPartner(req.principal, body.partner_id);
      const { state, seq, secret } = await d.endpoints.create(
        partnerId,
        {
          url: body.url,
          description: body.description,
          event_types: body.event_types,
          rate_limit_per_s: body.rate_limit_per_s ?? null,
          timeout_ms: body.timeout_ms,
          headers: body.headers,
          payload_format: body.payload_format,
          integration_id: body.integration_id,
        },
        origin(req),
      );
      return ok({ ...endpointFromState(state, seq), secret }, 201);
    }),

    'endpoints.list': h(async (req) => {
      const q = parseOrThrow(ListEndpointsQuery, req.query ?? {});
      const partnerId = listScope(req.principal, q.partner_id);
      const rows = await d.endpoints.list({
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
      const { enabled, ...changes } = body;
      const { state, seq } = await d.endpoints.update(current, changes, enabled, origin(req));
      return ok(endpointFromState(state, seq));
    }),

    'endpoints.delete': h(async (req) => {
      await d.endpoints.remove(await ownedEndpoint(req), origin(req));
      return ok(null, 204);
    }),

    'endpoints.secret': h(async (req) => ok(d.endpoints.secrets(await ownedEndpoint(req)))),

    'endpoints.rotate-secret': h(async (req) => ok(await d.endpoints.rotate(await ownedEndpoint(req), origin(req)))),

    'endpoints.recover': h(async (req) => {
      const body = parseOrThrow(RecoverBody, req.body ?? {});
      const e = await ownedEndpoint(req);
      const job = await d.log.startJob('recover', e, { since: body.since, ...(body.until ? { until: body.until } : {}) });
      return ok(jobView(job), 202);
    }),

    'endpoints.replay': h(async (req) => {
      const body = parseOrThrow(ReplayBody, req.body ?? {});
      const e = await ownedEndpoint(req);
      const job = await d.log.startJob('replay', e, {
        since: body.since,
        ...(body.until ? { until: body.until } : {}),
        ...(body.event_types ? { event_types: body.event_types } : {}),
      });
      return ok(jobView(job), 202);
    }),

    'deliveries.list': h(async (req) => {
      const e = await ownedEndpoint(req);
      const q = parseOrThrow(DeliveriesQuery, req.query ?? {});
      const rows = await d.log.deliveries(e.id, q);
      return ok({ data: rows.slice(0, q.limit).map(deliveryView), has_more: rows.length > q.limit });
    }),

    'deliveries.get': h(async (req) => ok(deliveryView(await ownedDelivery(req)))),

    'integrations.traffic': h(async (req) => {
      const { id } = parseOrThrow(z.object({ id: z.string().min(1).max(64) }), req.params);
      const q = parseOrThrow(IntegrationTrafficQuery, req.query ?? {});
      const t = await d.log.integrationTraffic(id, req.principal, q);
      return ok({ object: 'integration_traffic', integration_id: id, from: t.from.toISOString(), to: t.to.toISOString(), data: t.data });
    }),

    'deliveries.attempts': h(async (req) => {
      const dl = await ownedDelivery(req);
      const q = parseOrThrow(PageQuerySchema, req.query ?? {});
      const rows = await d.log.attempts(dl.id, q);
      return ok({ data: rows.slice(0, q.limit).map(attemptView), has_more: rows.length > q.limit });
    }),

    'deliveries.resend': h(async (req) => {
      const dl = await ownedDelivery(req);
      const job = await d.log.startJob('resend', { id: dl.endpoint_id, partner_id: dl.partner_id }, { delivery_id: dl.id });
      return ok(jobView(job), 202);
    }),

    'jobs.get': h(async (req) => ok(jobView(await d.log.job(idOf(req), req.principal)))),

    /** Operator: which endpoints' secrets the configured keyring cannot read, and which are not under the current key. */
    'ops.secrets.status': h(async () => ok(await d.keys.status())),

    /** Operator: re-encrypts every endpoint secret under the current key (`dry_run: true` only reports). */
    'ops.secrets.reencrypt': h(async (req) => {
      const body = ReencryptBody.safeParse(req.body);
      const dryRun = body.success && body.data?.dry_run === true;
      return ok(await d.keys.reencrypt(dryRun, req.request_id));
    }),

    'event-types.list': h(async () => ok({ data: eventTypeCatalogue(d.logger) })),

    /** Internal (no public route): a stored event of the caller's partner, for partner-registry's mapping preview. */
    'events.get': h(async (req) => {
      const { id } = parseOrThrow(z.object({ id: z.string().min(1).max(128) }), req.params);
      return ok(await d.log.storedEvent(id, req.principal));
    }),
  };
}
