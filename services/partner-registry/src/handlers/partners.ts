import {
  CreatePartnerBody,
  type Partner,
  PartnerStatusSchema,
  PageQuerySchema,
  ReasonBody,
  SuspendBody,
  UpdatePartnerBody,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, newId, parseOrThrow } from '@pep/runtime';
import { handler, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { type Aggregate, metaFrom } from '../app/command-bus.ts';
import { decidePartner, type PartnerCommand } from '../domain/partner/decide.ts';
import { evolvePartner, initialPartner, type PartnerEvent, type PartnerState } from '../domain/partner/partner.ts';
import { findPartner, listPartners, PARTNERS_PROJECTION } from '../projections/partners/index.ts';
import type { HandlerDeps } from './deps.ts';
import { assertVisible, isAdmin, listScope } from './tenant.ts';

export const partnerAggregate: Aggregate<PartnerState | undefined, PartnerEvent> = {
  kind: 'partner',
  initial: initialPartner,
  evolve: evolvePartner,
  projection: PARTNERS_PROJECTION,
};

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ListQuery = PageQuerySchema.extend({ status: PartnerStatusSchema.optional() });

export function partnerHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);

  const run = async (req: Parameters<RpcHandler>[0], id: string, command: PartnerCommand): Promise<Partner> => {
    const r = await deps.commands.execute(partnerAggregate, id, metaFrom(req, id), (s) => decidePartner(command, s));
    if (!r.state) throw new NotFoundError(`partner ${id} not found`);
    return r.state;
  };

  /** Commands on an existing partner: invisible partners are 404 before anything is decided. */
  const guarded = (toCommand: (id: string, body: unknown, req: Parameters<RpcHandler>[0]) => PartnerCommand): RpcHandler =>
    h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, id, `partner ${id}`);
      return ok(await run(req, id, toCommand(id, req.body, req)));
    });

  return {
    'partners.create': h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only an admin credential may register partners');
      const body = parseOrThrow(CreatePartnerBody, req.body);
      const id = newId('prt', deps.now().getTime());
      return ok(await run(req, id, { type: 'CreatePartner', data: { partner_id: id, ...body } }), 201);
    }),

    'partners.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, id, `partner ${id}`);
      const p = await findPartner(deps.db, id);
      if (!p) throw new NotFoundError(`partner ${id} not found`);
      return ok(p);
    }),

    'partners.list': h(async (req) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      return ok(await listPartners(deps.db, { ...q, only_id: listScope(req.principal) }));
    }),

    'partners.update': guarded((id, body, req) => {
      const b = parseOrThrow(UpdatePartnerBody, body);
      if (b.tier !== undefined && !isAdmin(req.principal)) throw new ForbiddenError('only an admin may change the tier');
      return { type: 'UpdatePartner', data: { partner_id: id, ...b } };
    }),
    'partners.activate': guarded((id, body) => ({
      type: 'ActivatePartner',
      data: { partner_id: id, ...(parseOrThrow(ReasonBody, body ?? {}) ?? {}) },
    })),
    'partners.suspend': guarded((id, body) => ({
      type: 'SuspendPartner',
      data: { partner_id: id, ...parseOrThrow(SuspendBody, body) },
    })),
    'partners.terminate': guarded((id, body) => ({
      type: 'TerminatePartner',
      data: { partner_id: id, ...parseOrThrow(SuspendBody, body) },
    })),
  };
}
