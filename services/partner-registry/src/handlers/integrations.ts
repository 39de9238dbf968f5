import {
  type Integration,
  IntegrationHealthSchema,
  InstallIntegrationBody,
  type MappingPreviewSchema,
  PageQuerySchema,
  PreviewIntegrationMappingBody,
  RemoveIntegrationMappingParams,
  type RpcRequest,
  SetIntegrationMappingBody,
  UninstallIntegrationBody,
} from '@pep/contracts';
import { compileMapping, resolveMapping } from '@pep/mapping';
import { NotFoundError, newId, parseOrThrow, UnavailableError } from '@pep/runtime';
import { assertVisible, handler, listScope, ok, type RpcHandler, rpcCall } from '@pep/service';
import { z } from 'zod';
import { metaFrom } from '../app/command-bus.ts';
import type { ProbeResult } from '../domain/integration/health.ts';
import { type IntegrationCommand, decideIntegration, validateMappingExpression } from '../domain/integration/decide.ts';
import { type IntegrationState, currentMappings, toIntegration } from '../domain/integration/integration.ts';
import { findIntegration, listIntegrations } from '../projections/integrations/index.ts';
import { recentTraffic } from '../projections/integration-traffic/queries.ts';
import { createIntegrationChecker } from '../app/integration-health.ts';
import type { HandlerDeps } from './deps.ts';
import { applicationAggregate } from '../domain/application/aggregate.ts';
import { integrationAggregate } from '../domain/integration/aggregate.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ListQuery = PageQuerySchema.extend({
  application_id: z.string().max(64).optional(),
  health: IntegrationHealthSchema.optional(),
  partner_id: z.string().max(64).optional(),
});
type Req = RpcRequest<unknown, unknown, unknown>;
const STORED_EVENT_TIMEOUT_MS = 5000;

export function integrationHandlers(deps: HandlerDeps & { probe?: (url: string) => Promise<ProbeResult> }): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  const check = createIntegrationChecker(deps.commands, deps.config, deps.now, (id, since) => recentTraffic(deps.db, id, since));

  const visible = async (req: Req, id: string): Promise<IntegrationState> => {
    const s = (await deps.commands.load(integrationAggregate, id)).state;
    if (!s) throw new NotFoundError(`integration ${id} not found`);
    assertVisible(req.principal, s.partner_id, `integration ${id}`);
    return s;
  };
  const execute = async (req: Req, id: string, partnerId: string, command: IntegrationCommand): Promise<Integration> => {
    const r = await deps.commands.execute(integrationAggregate, id, metaFrom(req, partnerId), (s) => decideIntegration(command, s));
    if (!r.state) throw new NotFoundError(`integration ${id} not found`);
    return toIntegration(r.state);
  };

  /**
   * A stored event for a preview: the webhook-dispatcher keeps the body of every event it delivered and answers for
   * the caller's own partner only (another partner's event, or one never delivered, is 404).
   */
  const storedEvent = async (req: Req, eventId: string) => {
    if (!deps.bus) throw new NotFoundError(`event ${eventId} not found`);
    let reply: Awaited<ReturnType<typeof rpcCall>>;
    try {
      reply = await rpcCall(
        deps.bus.nc,
        `${deps.config.RPC_PREFIX}.webhook-dispatcher.events.get`,
        { principal: req.principal, params: { id: eventId } },
        STORED_EVENT_TIMEOUT_MS,
      );
    } catch (err) {
      throw new UnavailableError(`stored events cannot be read now (webhook-dispatcher did not answer)`, { cause: err });
    }
    if (!reply.ok) {
      if (reply.problem.status === 404) throw new NotFoundError(`event ${eventId} not found`);
      throw new UnavailableError(`stored events cannot be read now (webhook-dispatcher answered ${reply.problem.status})`);
    }
    return reply.body as { id: string; type: string; time?: string; source?: string; subject?: string; data: unknown };
  };

  return {
    'integrations.install': h(async (req) => {
      const body = parseOrThrow(InstallIntegrationBody, req.body);
      const app = (await deps.commands.load(applicationAggregate, body.application_id)).state;
      if (!app) throw new NotFoundError(`application ${body.application_id} not found`);
      assertVisible(req.principal, app.partner_id, `application ${body.application_id}`);
      const now = deps.now();
      const id = newId('int', now.getTime());
      const integration = await execute(req, id, app.partner_id, {
        type: 'InstallIntegration',
        data: {
          integration_id: id,
          application_id: app.id,
          customer_id: body.customer_id,
          installed_by: req.principal.credential_id,
          scopes: app.scopes,
        },
        application_status: app.status,
        now,
      });
      return ok(integration, 201);
    }),

    'integrations.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const i = await findIntegration(deps.db, id);
      if (!i) throw new NotFoundError(`integration ${id} not found`);
      assertVisible(req.principal, i.partner_id, `integration ${id}`);
      return ok(i);
    }),

    'integrations.list': h(async (req) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      return ok(await listIntegrations(deps.db, { ...q, partner_id: listScope(req.principal, q.partner_id) }));
    }),

    'integrations.check': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      await visible(req, id);
      if (!deps.probe) throw new NotFoundError('health checks are not enabled in this process');
      const s = await check(id, deps.probe, req);
      if (!s) throw new NotFoundError(`integration ${id} not found`);
      return ok(toIntegration(s));
    }),

    'integrations.mappings.set': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const s = await visible(req, id);
      const b = parseOrThrow(SetIntegrationMappingBody, req.body);
      const r = await deps.commands.execute(integrationAggregate, id, metaFrom(req, s.partner_id), (st) =>
        decideIntegration(
          { type: 'SetMapping', data: { integration_id: id, ...b, set_by: req.principal.credential_id }, now: deps.now() },
          st,
        ),
      );
      const saved = r.state && currentMappings(r.state).find((m) => m.event_type === b.event_type);
      if (!saved) throw new NotFoundError(`integration ${id} not found`);
      return ok(saved);
    }),

    'integrations.mappings.list': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const s = await visible(req, id);
      return ok({ data: currentMappings(s), has_more: false });
    }),

    'integrations.mappings.remove': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const s = await visible(req, id);
      const q = parseOrThrow(RemoveIntegrationMappingParams.pick({ event_type: true }), req.params);
      const before = currentMappings(s).find((m) => m.event_type === q.event_type);
      await deps.commands.execute(integrationAggregate, id, metaFrom(req, s.partner_id), (st) =>
        decideIntegration(
          {
            type: 'RemoveMapping',
            data: { integration_id: id, event_type: q.event_type, removed_by: req.principal.credential_id },
            now: deps.now(),
          },
          st,
        ),
      );
      return ok(before);
    }),

    'integrations.mappings.preview': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const s = await visible(req, id);
      const b = parseOrThrow(PreviewIntegrationMappingBody, req.body);
      const sample = b.event_id !== undefined ? await storedEvent(req, b.event_id) : b.event;
      if (!sample) throw new NotFoundError('event not found');
      const event = {
        id: sample.id ?? 'evt_preview',
        type: sample.type,
        time: sample.time ?? deps.now().toISOString(),
        source: sample.source,
        subject: sample.subject,
        data: sample.data,
      };
      let applied: { event_type: string; version: number | null; expression: string } | undefined;
      if (b.expression !== undefined) {
        validateMappingExpression(b.expression);
        applied = { event_type: event.type, version: null, expression: b.expression };
      } else {
        const saved = new Map(currentMappings(s).map((m) => [m.event_type, m]));
        const hit = resolveMapping(saved, event.type);
        if (hit) applied = { event_type: hit.key, version: hit.mapping.version, expression: hit.mapping.expression };
      }
      type Preview = z.output<typeof MappingPreviewSchema>;
      if (!applied)
        return ok({
          object: 'mapping_preview',
          event_type: event.type,
          mapping: null,
          ok: true,
          payload: event.data,
          error: null,
        } satisfies Preview);
      const result = await compileMapping(applied.expression).evaluate(event);
      const mapping = { event_type: applied.event_type, version: applied.version };
      return ok(
        (result.ok
          ? {
              object: 'mapping_preview',
              event_type: event.type,
              mapping,
              ok: true,
              payload: JSON.parse(result.body) as unknown,
              error: null,
            }
          : {
              object: 'mapping_preview',
              event_type: event.type,
              mapping,
              ok: false,
              payload: null,
              error: result.error,
            }) satisfies Preview,
      );
    }),

    'integrations.uninstall': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const s = await visible(req, id);
      const b = parseOrThrow(UninstallIntegrationBody, req.body ?? {});
      return ok(
        await execute(req, id, s.partner_id, {
          type: 'UninstallIntegration',
          data: { integration_id: id, reason: b.reason },
          now: deps.now(),
        }),
      );
    }),
  };
}
