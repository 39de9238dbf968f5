import { IntegrationErrorsQuery, IntegrationTrafficQuery } from '@pep/contracts';
import { NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { assertVisible, handler, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { findIntegration } from '../projections/integrations/index.ts';
import { integrationMetrics, listIntegrationErrors } from '../projections/integration-traffic/queries.ts';
import type { HandlerDeps } from './deps.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const HOUR_MS = 3_600_000;
const MAX_RANGE_MS = 31 * 24 * HOUR_MS;

/** An integration's metrics and errors from real traffic (the `integration-traffic` read model). Another partner's is 404. */
export function integrationTrafficHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  const visible = async (req: Parameters<Parameters<typeof handler>[1]>[0]) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const i = await findIntegration(deps.db, id);
    if (!i) throw new NotFoundError(`integration ${id} not found`);
    assertVisible(req.principal, i.partner_id, `integration ${id}`);
    return i;
  };
  return {
    'integrations.metrics': h(async (req) => {
      const i = await visible(req);
      const q = parseOrThrow(IntegrationTrafficQuery, req.query ?? {});
      const now = deps.now().getTime();
      const to = q.to ? new Date(q.to) : new Date(now - (now % HOUR_MS) + HOUR_MS);
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * HOUR_MS);
      if (from.getTime() >= to.getTime()) throw new ValidationError([{ path: 'from', message: 'must be before to' }]);
      if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new ValidationError([{ path: 'to', message: 'at most 31 days after from' }]);
      const data = await integrationMetrics(deps.db, i.id, from, to);
      return ok({ object: 'integration_metrics', integration_id: i.id, from: from.toISOString(), to: to.toISOString(), data });
    }),

    'integrations.errors': h(async (req) => {
      const i = await visible(req);
      const q = parseOrThrow(IntegrationErrorsQuery, req.query ?? {});
      if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to))
        throw new ValidationError([{ path: 'from', message: 'must be before to' }]);
      return ok(await listIntegrationErrors(deps.db, i.id, q));
    }),
  };
}
