import {
  ChangeSubscriptionBody,
  CreateSubscriptionBody,
  PlanDefinitionSchema,
  PlanQuoteBody,
  type PlanVersion,
  type RpcRequest,
} from '@pep/contracts';
import type { CommandBus } from '@pep/events';
import { ConflictError, ForbiddenError, NotFoundError, newId, parseOrThrow, ValidationError } from '@pep/runtime';
import { actingPartner, isAdmin, ok } from '@pep/service';
import { readScope } from './tenant.ts';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { BillingDB } from '../db/schema.ts';
import { decidePlan } from '../domain/plan/decide.ts';
import { planAggregate } from '../domain/plan/plan.ts';
import { formatDate, periodContaining } from '../domain/pricing/period.ts';
import { quotePeriod } from '../domain/pricing/quote.ts';
import { decideSubscription } from '../domain/subscription/decide.ts';
import { type SubscriptionState, subscriptionAggregate } from '../domain/subscription/subscription.ts';
import { latestPlans, type PlanVersionRow, planVersion } from '../projections/plans/index.ts';
import { listSubscriptions, subscriptionOf } from '../projections/subscriptions/index.ts';

export interface PlanHandlerDeps {
  db: Kysely<BillingDB>;
  commands: CommandBus;
  now: () => Date;
}

const CodeParams = z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a plan code') });
const VersionQuery = z.object({ version: z.coerce.number().int().min(1).optional() });
const SubscriptionQuery = z.object({ partner_id: z.string().min(1).max(64).optional() });

const planView = (r: PlanVersionRow) => {
  const { version, ...definition } = r.plan;
  return { object: 'plan' as const, code: r.plan.code, version, published_at: r.published_at, definition };
};

/** The subscription as of `today`: a scheduled change whose date has come is shown as the current plan. */
export function subscriptionView(state: SubscriptionState, seq: number, today: string) {
  const cur = state.current;
  if (!cur || !state.id || !state.partner_id) throw new NotFoundError('subscription not found');
  const due = state.scheduled && state.scheduled.effective_date <= today ? state.scheduled : undefined;
  const current = due
    ? {
        plan_code: due.plan_code,
        plan_version: due.plan_version,
        since: due.effective_date,
        interval: cur.interval,
        anchor_date: cur.anchor_date,
      }
    : cur;
  return {
    object: 'subscription' as const,
    id: state.id,
    partner_id: state.partner_id,
    currency: state.currency,
    started_on: state.started_on,
    current,
    current_period: today >= current.anchor_date ? periodContaining(current.anchor_date, current.interval, today) : null,
    scheduled_change: due ? null : (state.scheduled ?? null),
    changes: state.changes,
    version: seq,
  };
}

export function planHandlers(deps: PlanHandlerDeps) {
  const requireAdmin = (req: RpcRequest) => {
    if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators manage plans');
  };
  const plan = async (code: string, version: number | undefined, path = 'plan_code'): Promise<PlanVersion> => {
    const row = await planVersion(deps.db, code, version);
    if (!row) {
      if (path === 'params') throw new NotFoundError(`plan ${code}${version ? ` version ${version}` : ''} not found`);
      throw new ValidationError([{ path, message: `no plan ${code}${version ? ` version ${version}` : ''}` }]);
    }
    return row.plan;
  };
  const meta = (req: RpcRequest, partnerId?: string) => ({
    ...(partnerId ? { partnerId } : {}),
    correlationId: req.request_id,
    traceparent: req.traceparent,
  });
  const today = () => formatDate(deps.now().getTime());
  const viewOf = async (partnerId: string) => {
    const s = await subscriptionOf(deps.db, partnerId);
    if (!s) throw new NotFoundError('subscription not found');
    return subscriptionView(s.state, s.seq, today());
  };

  return {
    'plans.create': async (req: RpcRequest) => {
      requireAdmin(req);
      const def = parseOrThrow(PlanDefinitionSchema, req.body);
      await deps.commands.execute(planAggregate, def.code, meta(req), (s) => decidePlan({ type: 'CreatePlan', plan: def }, s));
      return ok(planView((await planVersion(deps.db, def.code, 1)) as PlanVersionRow), 201);
    },
    'plans.publish-version': async (req: RpcRequest) => {
      requireAdmin(req);
      const { code } = parseOrThrow(CodeParams, req.params);
      const def = parseOrThrow(PlanDefinitionSchema, req.body);
      const res = await deps.commands.execute(planAggregate, code, meta(req), (s) =>
        decidePlan({ type: 'PublishPlanVersion', code, plan: def }, s),
      );
      const version = res.state.versions.at(-1)?.version;
      return ok(planView((await planVersion(deps.db, code, version)) as PlanVersionRow), 201);
    },
    'plans.list': async () => ok({ data: (await latestPlans(deps.db)).map(planView), has_more: false }),
    'plans.get': async (req: RpcRequest) => {
      const { code } = parseOrThrow(CodeParams, req.params);
      const { version } = parseOrThrow(VersionQuery, req.query ?? {});
      const row = await planVersion(deps.db, code, version);
      if (!row) throw new NotFoundError(`plan ${code}${version ? ` version ${version}` : ''} not found`);
      return ok(planView(row));
    },
    'plans.quote': async (req: RpcRequest) => {
      const { code } = parseOrThrow(CodeParams, req.params);
      const body = parseOrThrow(PlanQuoteBody, req.body ?? {});
      const p = await plan(code, body.version, 'params');
      const t = today();
      const period = body.period ?? periodContaining(`${t.slice(0, 8)}01`, 'month', t);
      if (period.end <= period.start) throw new ValidationError([{ path: 'period.end', message: 'must be after period.start' }]);
      const q = quotePeriod(p, { period, usage: body.usage, transactions: body.transactions });
      return ok({ object: 'quote', plan_code: p.code, plan_version: p.version, currency: q.currency, total: q.total, lines: q.lines });
    },
    'subscription.create': async (req: RpcRequest) => {
      const body = parseOrThrow(CreateSubscriptionBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      const p = await plan(body.plan_code, body.plan_version);
      const subscriptionId = newId('sub');
      await deps.commands.execute(subscriptionAggregate, partnerId, meta(req, partnerId), (s) =>
        decideSubscription({ type: 'Subscribe', partnerId, subscriptionId, plan: p, effectiveDate: body.effective_date }, s),
      );
      return ok(await viewOf(partnerId), 201);
    },
    'subscription.change': async (req: RpcRequest) => {
      const body = parseOrThrow(ChangeSubscriptionBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      const target = await plan(body.plan_code, body.plan_version);
      const snap = await deps.commands.load(subscriptionAggregate, partnerId);
      if (!snap.state.current) throw new NotFoundError('subscription not found');
      // Plan versions are immutable, so loading them before the decision cannot go stale.
      const current = await plan(snap.state.current.plan_code, snap.state.current.plan_version);
      const scheduled = snap.state.scheduled ? await plan(snap.state.scheduled.plan_code, snap.state.scheduled.plan_version) : undefined;
      await deps.commands.execute(subscriptionAggregate, partnerId, meta(req, partnerId), (s) => {
        const cur = s.current?.plan_code === current.code && s.current.plan_version === current.version ? current : undefined;
        if (!cur) throw new ConflictError('the subscription changed meanwhile; retry');
        return decideSubscription(
          {
            type: 'ChangePlan',
            current: cur,
            ...(scheduled ? { scheduled } : {}),
            plan: target,
            effectiveDate: body.effective_date,
            timing: body.timing,
          },
          s,
        );
      });
      return ok(await viewOf(partnerId));
    },
    'subscriptions.list': async (req: RpcRequest) => {
      const q = parseOrThrow(SubscriptionQuery, req.query ?? {});
      const rows = await listSubscriptions(deps.db, readScope(req.principal, q.partner_id));
      return ok({ data: rows.map((r) => subscriptionView(r.state, r.seq, today())), has_more: false });
    },
  };
}
