import { PageQuerySchema, type RpcRequest, RunPayoutsBody } from '@pep/contracts';
import { ForbiddenError, NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { assertVisible, isAdmin, ok } from '@pep/service';
import { z } from 'zod';
import { type PayoutDeps, runPayouts } from '../app/payout-run.ts';
import { formatDate } from '../domain/pricing/period.ts';
import { listPayouts, payoutById, payoutView, statementView } from '../projections/payouts/index.ts';
import { readScope } from './tenant.ts';

const IdParams = z.object({ id: z.string().min(1).max(128) });
const ListQuery = PageQuerySchema.extend({ partner_id: z.string().min(1).max(64).optional() });

export function payoutHandlers(deps: PayoutDeps & { now: () => Date }) {
  const visible = async (req: RpcRequest) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const row = await payoutById(deps.db, id);
    if (!row) throw new NotFoundError(`payout ${id} not found`);
    assertVisible(req.principal, row.partner_id, `payout ${id}`);
    return row;
  };
  return {
    'payouts.run': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators run payouts');
      const body = parseOrThrow(RunPayoutsBody, req.body);
      return ok(await runPayouts(deps, body.period, formatDate(deps.now().getTime())));
    },
    'payouts.get': async (req: RpcRequest) => ok(payoutView(await visible(req))),
    'payouts.statement': async (req: RpcRequest) => ok(statementView(await visible(req))),
    'payouts.list': async (req: RpcRequest) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      const partnerId = readScope(req.principal, q.partner_id);
      let startingAfter: { period_start: string; id: string } | undefined;
      if (q.starting_after) {
        const cursor = await payoutById(deps.db, q.starting_after);
        if (!cursor || (partnerId !== undefined && cursor.partner_id !== partnerId))
          throw new ValidationError([{ path: 'starting_after', message: 'no such payout' }]);
        startingAfter = { period_start: cursor.period_start, id: cursor.id };
      }
      const rows = await listPayouts(deps.db, { partnerId, limit: q.limit, ...(startingAfter ? { startingAfter } : {}) });
      return ok({ data: rows.slice(0, q.limit).map(payoutView), has_more: rows.length > q.limit });
    },
  };
}
