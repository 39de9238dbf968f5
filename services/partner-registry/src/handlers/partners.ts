import {
  AddContactBody,
  ContactRoleSchema,
  CreatePartnerBody,
  SignAgreementBody,
  type Partner,
  PartnerStatusSchema,
  PageQuerySchema,
  ReasonBody,
  SuspendBody,
  UpdatePartnerBody,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, newId, parseOrThrow } from '@pep/runtime';
import { assertVisible, handler, isAdmin, listScope, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { metaFrom } from '../app/command-bus.ts';
import { decidePartner, type PartnerCommand } from '../domain/partner/decide.ts';
import { type PartnerState, toPartner } from '../domain/partner/partner.ts';
import { findPartner, listAgreements, listContacts, listPartners } from '../projections/partners/index.ts';
import type { HandlerDeps } from './deps.ts';
import { partnerAggregate } from '../domain/partner/aggregate.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ListQuery = PageQuerySchema.extend({ status: PartnerStatusSchema.optional() });
const ContactParams = IdParams.extend({ contact_id: z.string().min(1).max(64) });
const ContactQuery = PageQuerySchema.extend({ role: ContactRoleSchema.optional() });

export function partnerHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);

  const execute = async (req: Parameters<RpcHandler>[0], id: string, command: PartnerCommand): Promise<PartnerState> => {
    const r = await deps.commands.execute(partnerAggregate, id, metaFrom(req, id), (s) => decidePartner(command, s));
    if (!r.state) throw new NotFoundError(`partner ${id} not found`);
    return r.state;
  };
  const run = async (req: Parameters<RpcHandler>[0], id: string, command: PartnerCommand): Promise<Partner> =>
    toPartner(await execute(req, id, command));
  /** The partner named in the path, visible to the principal and existing (404 otherwise). */
  const visiblePartner = async (req: Parameters<RpcHandler>[0]) => {
    const { id } = parseOrThrow(IdParams, req.params);
    assertVisible(req.principal, id, `partner ${id}`);
    const p = await findPartner(deps.db, id);
    if (!p) throw new NotFoundError(`partner ${id} not found`);
    return p;
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

    'partners.get': h(async (req) => ok(await visiblePartner(req))),

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
    'partners.request-changes': guarded((id, body) => ({
      type: 'RequestPartnerChanges',
      data: { partner_id: id, ...parseOrThrow(SuspendBody, body) },
    })),
    'partners.suspend': guarded((id, body) => ({
      type: 'SuspendPartner',
      data: { partner_id: id, ...parseOrThrow(SuspendBody, body) },
    })),
    'partners.terminate': guarded((id, body) => ({
      type: 'TerminatePartner',
      data: { partner_id: id, ...parseOrThrow(SuspendBody, body) },
    })),

    'partners.contacts.add': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, id, `partner ${id}`);
      const body = parseOrThrow(AddContactBody, req.body);
      const contactId = newId('ctc', deps.now().getTime());
      const state = await execute(req, id, { type: 'AddContact', data: { partner_id: id, contact_id: contactId, ...body } });
      const c = state.contacts.find((x) => x.contact_id === contactId);
      if (!c) throw new NotFoundError(`contact ${contactId} not found`);
      return ok(
        {
          id: c.contact_id,
          object: 'contact',
          partner_id: id,
          name: c.name,
          email: c.email,
          role: c.role,
          phone: c.phone ?? null,
          created_at: c.added_at,
        },
        201,
      );
    }),
    'partners.contacts.list': h(async (req) => {
      const p = await visiblePartner(req);
      const q = parseOrThrow(ContactQuery, req.query ?? {});
      return ok(await listContacts(deps.db, { partner_id: p.id, ...q }));
    }),
    'partners.contacts.remove': h(async (req) => {
      const { id, contact_id } = parseOrThrow(ContactParams, req.params);
      assertVisible(req.principal, id, `partner ${id}`);
      await execute(req, id, { type: 'RemoveContact', data: { partner_id: id, contact_id } });
      return ok(null, 204);
    }),
    'partners.agreements.sign': h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only an admin credential may record agreements');
      const { id } = parseOrThrow(IdParams, req.params);
      const b = parseOrThrow(SignAgreementBody, req.body);
      const now = deps.now();
      const agreementId = newId('agr', now.getTime());
      await execute(req, id, {
        type: 'SignAgreement',
        data: {
          partner_id: id,
          agreement_id: agreementId,
          title: b.title,
          signed_by: b.signed_by,
          signed_at: new Date(b.signed_at ?? now).toISOString(),
          effective_at: new Date(b.effective_at).toISOString(),
          expires_at: b.expires_at ? new Date(b.expires_at).toISOString() : null,
          revenue_share: b.revenue_share,
          ...(b.terms_url ? { terms_url: b.terms_url } : {}),
        },
      });
      const page = await listAgreements(deps.db, { partner_id: id, limit: 1 }, now);
      return ok(page.data.find((a) => a.id === agreementId) ?? page.data[0], 201);
    }),
    'partners.agreements.list': h(async (req) => {
      const p = await visiblePartner(req);
      const q = parseOrThrow(PageQuerySchema, req.query ?? {});
      return ok(await listAgreements(deps.db, { partner_id: p.id, ...q }, deps.now()));
    }),
  };
}
