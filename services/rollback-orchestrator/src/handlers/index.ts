import {
  ApproveRollbackBody,
  CreateIncidentBody,
  CreateRollbackPolicyBody,
  PageQuerySchema,
  ReplaceRollbackPolicyBody,
  ResolveIncidentBody,
  type RpcRequest,
} from '@pep/contracts';
import { type Logger, NotFoundError, parseOrThrow } from '@pep/runtime';
import { actingPartner, assertVisible, handler, listScope, ok, type RpcHandler } from '@pep/service';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { IncidentUseCases } from '../app/incidents.ts';
import { type PolicyUseCases, policyView } from '../app/policies.ts';
import type { IntakeLimiter } from '../app/rate-limit.ts';
import type { OrchestratorDB } from '../db/schema.ts';
import { findIncident, type IncidentRow, listIncidents, timelineOf } from '../projections/incidents/index.ts';
import { listPolicies, policyById } from '../projections/policies/index.ts';
import { actionsOf, runOf } from '../projections/runs/index.ts';

export interface HandlerDeps {
  db: Kysely<OrchestratorDB>;
  logger: Logger;
  incidents: IncidentUseCases;
  policies: PolicyUseCases;
  limiter: IntakeLimiter;
  now: () => Date;
}

const IdParams = z.object({ id: z.string().min(1).max(64) });

/** The incident as `GET /v1/incidents/{id}` shows it: the incident, its run with every action, and the timeline. */
export async function incidentView(db: Kysely<OrchestratorDB>, row: IncidentRow) {
  const [run, actions, timeline] = await Promise.all([runOf(db, row.key), actionsOf(db, row.key), timelineOf(db, row.key)]);
  return {
    id: row.incident_id,
    object: 'incident' as const,
    partner_id: row.partner_id,
    customer_id: row.customer_id,
    status: row.status,
    severity: row.severity,
    journey: row.journey,
    evidence: row.evidence,
    suspects: row.suspects,
    detected_at: row.detected_at,
    opened_at: row.opened_at,
    resolved_at: row.resolved_at,
    rollback: run
      ? {
          status: run.status,
          mode: run.mode,
          policy_id: run.policy_id,
          skipped_reason: run.skipped_reason,
          actions: actions.map((a) => ({
            ...(a.planned as Record<string, unknown>),
            kind: a.kind,
            phase: a.phase,
            status: a.status,
            attempts: a.attempts,
            detail: a.detail,
            result: a.result,
            finished_at: a.finished_at,
          })),
          dropped: run.dropped,
          restored_at: run.restored_at,
        }
      : null,
    timeline: timeline.map((t) => ({ at: t.at, type: t.type, actor: t.actor, summary: t.summary, details: t.details })),
  };
}

type Req = RpcRequest<unknown, unknown, unknown>;

export function orchestratorHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: RpcHandler) => handler(deps.logger, fn);

  /** The incident a request names, visible to the principal (admins may name the partner with ?partner_id). */
  const visibleIncident = async (req: Req) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const scope = listScope(req.principal, (req.query as { partner_id?: string })?.partner_id);
    const row = await findIncident(deps.db, id, scope);
    if (!row) throw new NotFoundError(`incident ${id} not found`);
    return row;
  };
  const visiblePolicy = async (req: Req) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const row = await policyById(deps.db, id);
    if (!row) throw new NotFoundError(`rollback policy ${id} not found`);
    assertVisible(req.principal, row.policy.partner_id, `rollback policy ${id}`);
    return row;
  };

  return {
    'incidents.create': h(async (req) => {
      const body = parseOrThrow(CreateIncidentBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      await deps.limiter.check(partnerId, body.customer_id, deps.now().getTime());
      const { partner_id: _p, ...report } = body;
      const accepted = await deps.incidents.open({
        partnerId,
        report,
        source: 'api',
        ...(req.traceparent ? { traceparent: req.traceparent } : {}),
      });
      return ok(accepted, 202);
    }),
    'incidents.get': h(async (req) => ok(await incidentView(deps.db, await visibleIncident(req)))),
    'incidents.list': h(async (req) => {
      const q = parseOrThrow(
        PageQuerySchema.extend({
          customer_id: z.string().optional(),
          status: z.enum(['open', 'resolved']).optional(),
          partner_id: z.string().optional(),
        }),
        req.query ?? {},
      );
      let startingAfter: number | undefined;
      if (q.starting_after) {
        const cursor = await findIncident(deps.db, q.starting_after, listScope(req.principal, q.partner_id));
        startingAfter = cursor?.seq;
      }
      const rows = await listIncidents(deps.db, {
        partnerId: listScope(req.principal, q.partner_id),
        ...(q.customer_id ? { customerId: q.customer_id } : {}),
        ...(q.status ? { status: q.status } : {}),
        limit: q.limit,
        ...(startingAfter !== undefined ? { startingAfter } : {}),
      });
      const page = rows.slice(0, q.limit);
      return ok({ data: await Promise.all(page.map((r) => incidentView(deps.db, r))), has_more: rows.length > q.limit });
    }),
    'incidents.resolve': h(async (req) => {
      const row = await visibleIncident(req);
      const body = parseOrThrow(ResolveIncidentBody.optional(), req.body ?? undefined) ?? {};
      const res = await deps.incidents.resolve({
        partnerId: row.partner_id,
        incidentId: row.incident_id,
        ...(body.resolved_at ? { resolvedAt: body.resolved_at } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
        resolvedBy: req.principal.credential_id,
        ...(req.traceparent ? { traceparent: req.traceparent } : {}),
      });
      return ok(res, 202);
    }),
    'incidents.approve': h(async (req) => {
      const row = await visibleIncident(req);
      parseOrThrow(ApproveRollbackBody.optional(), req.body ?? undefined);
      return ok(
        await deps.incidents.approve({ partnerId: row.partner_id, incidentId: row.incident_id, approvedBy: req.principal.credential_id }),
        202,
      );
    }),
    'policies.create': h(async (req) => {
      const body = parseOrThrow(CreateRollbackPolicyBody, req.body);
      const { partner_id, ...input } = body;
      return ok(await deps.policies.create(actingPartner(req.principal, partner_id), input), 201);
    }),
    'policies.get': h(async (req) => ok(policyView(await visiblePolicy(req)))),
    'policies.list': h(async (req) => {
      const q = parseOrThrow(
        PageQuerySchema.extend({ customer_id: z.string().optional(), partner_id: z.string().optional() }),
        req.query ?? {},
      );
      const rows = await listPolicies(deps.db, {
        partnerId: listScope(req.principal, q.partner_id),
        ...(q.customer_id ? { customerId: q.customer_id } : {}),
        limit: q.limit,
        ...(q.starting_after ? { startingAfter: q.starting_after } : {}),
      });
      return ok({ data: rows.slice(0, q.limit).map((r) => policyView(r)), has_more: rows.length > q.limit });
    }),
    'policies.replace': h(async (req) => {
      const existing = await visiblePolicy(req);
      const body = parseOrThrow(ReplaceRollbackPolicyBody, req.body);
      return ok(await deps.policies.replace(existing, { ...body, customer_id: body.customer_id ?? existing.policy.customer_id }));
    }),
    'policies.delete': h(async (req) => {
      await deps.policies.delete(await visiblePolicy(req));
      return ok(null, 204);
    }),
  };
}
