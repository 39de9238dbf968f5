import { type RpcRequest, RevenueQuerySchema } from '@pep/contracts';
import { parseOrThrow, ValidationError } from '@pep/runtime';
import { ok } from '@pep/service';
import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import { revenueReport } from '../app/revenue.ts';
import type { BillingDB } from '../db/schema.ts';
import { readScope } from './tenant.ts';

const MAX_RANGE_MS = 400 * 86_400_000;

export function revenueHandlers(deps: { db: Kysely<BillingDB>; stripe: Stripe }) {
  return {
    'revenue.get': async (req: RpcRequest) => {
      const q = parseOrThrow(RevenueQuerySchema, req.query ?? {});
      const partnerId = readScope(req.principal, q.partner_id);
      const now = new Date();
      const from = q.from ? new Date(q.from) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const to = q.to ? new Date(q.to) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      if (to <= from) throw new ValidationError([{ path: 'to', message: 'must be after from' }]);
      if (to.getTime() - from.getTime() > MAX_RANGE_MS)
        throw new ValidationError([{ path: 'from', message: 'the range is at most 400 days' }]);
      return ok(await revenueReport(deps, { from, to, partnerId }));
    },
  };
}
