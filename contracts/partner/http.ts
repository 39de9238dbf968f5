import { z } from 'zod';
import { safeDatetime, safeEmail, safeText, safeUrl } from '../common/text.ts';
import { idParams, PlatformId } from '../common/ids.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { ContactRoleSchema, PartnerStatusSchema, PartnerTierSchema, PartnerTypeSchema, RevenueShareSchema } from './events.ts';

export const PartnerSchema = z
  .object({
    id: safeText(),
    object: z.literal('partner'),
    name: safeText(),
    type: PartnerTypeSchema,
    tier: PartnerTierSchema,
    contact_email: safeText(),
    status: PartnerStatusSchema,
    status_reason: safeText().nullable(),
    version: z.number().int().describe('Stream sequence of the last event applied to this partner'),
    created_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'Partner' });
export type Partner = z.output<typeof PartnerSchema>;

export const CreatePartnerBody = z
  .object({
    name: safeText().trim().min(1).max(200),
    type: PartnerTypeSchema,
    contact_email: safeEmail().max(320),
    tier: PartnerTierSchema.default('standard'),
  })
  .strict()
  .meta({ id: 'CreatePartner' });

export const UpdatePartnerBody = z
  .object({
    name: safeText().trim().min(1).max(200).optional(),
    type: PartnerTypeSchema.optional(),
    contact_email: safeEmail().max(320).optional(),
    tier: PartnerTierSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' })
  .meta({ id: 'UpdatePartner' });

export const ReasonBody = z
  .object({ reason: safeText().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'Reason' });

export const SuspendBody = z
  .object({ reason: safeText().trim().min(1).max(1000) })
  .strict()
  .meta({ id: 'SuspendPartner' });

const IdParams = idParams('prt');
const ContactParams = IdParams.extend({ contact_id: PlatformId('ctc') });

export const ContactSchema = z
  .object({
    id: safeText(),
    object: z.literal('contact'),
    partner_id: safeText(),
    name: safeText(),
    email: safeText(),
    role: ContactRoleSchema,
    phone: safeText().nullable(),
    created_at: safeText(),
  })
  .meta({ id: 'Contact' });
export type Contact = z.output<typeof ContactSchema>;

export const AddContactBody = z
  .object({
    name: safeText().trim().min(1).max(200),
    email: safeEmail().max(320),
    role: ContactRoleSchema,
    phone: safeText().trim().min(3).max(40).optional(),
  })
  .strict()
  .meta({ id: 'AddContact' });

export const AgreementStatusSchema = z.enum(['scheduled', 'active', 'superseded', 'expired']);
export const AgreementSchema = z
  .object({
    id: safeText(),
    object: z.literal('agreement'),
    partner_id: safeText(),
    version: z.number().int(),
    title: safeText(),
    status: AgreementStatusSchema.describe('Derived from the dates and later versions at read time'),
    signed_at: safeText(),
    signed_by: safeText(),
    effective_at: safeText(),
    expires_at: safeText().nullable(),
    revenue_share: RevenueShareSchema,
    terms_url: safeText().nullable(),
    supersedes: safeText().nullable(),
    superseded_by: safeText().nullable(),
  })
  .meta({ id: 'Agreement' });
export type Agreement = z.output<typeof AgreementSchema>;

export const SignAgreementBody = z
  .object({
    title: safeText().trim().min(1).max(200).default('Partner agreement'),
    signed_by: safeText().trim().min(1).max(200),
    signed_at: safeDatetime({ offset: true }).optional().describe('Defaults to now'),
    effective_at: safeDatetime({ offset: true }),
    expires_at: safeDatetime({ offset: true }).optional(),
    revenue_share: RevenueShareSchema,
    terms_url: safeUrl().max(2000).optional(),
  })
  .strict()
  .meta({ id: 'SignAgreement' });

export const partnerRoutes = defineRoutes([
  {
    operationId: 'createPartner',
    method: 'POST',
    path: '/v1/partners',
    summary: 'Register a partner (starts pending)',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.create',
    scope: 'admin',
    adminOnly: true,
    body: CreatePartnerBody,
    success: { status: 201, schema: PartnerSchema },
  },
  {
    operationId: 'listPartners',
    method: 'GET',
    path: '/v1/partners',
    summary: 'List partners (a partner credential sees only its own)',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.list',
    scope: 'read:partners',
    query: PageQuerySchema.extend({ status: PartnerStatusSchema.optional() }),
    success: { status: 200, schema: pageOf(PartnerSchema) },
  },
  {
    operationId: 'getPartner',
    method: 'GET',
    path: '/v1/partners/:id',
    summary: 'Get a partner',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.get',
    scope: 'read:partners',
    params: IdParams,
    success: { status: 200, schema: PartnerSchema },
  },
  {
    operationId: 'updatePartner',
    method: 'PATCH',
    path: '/v1/partners/:id',
    summary: 'Update a partner',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.update',
    scope: 'write:partners',
    params: IdParams,
    body: UpdatePartnerBody,
    success: { status: 200, schema: PartnerSchema },
    errors: [409],
  },
  {
    operationId: 'activatePartner',
    method: 'POST',
    path: '/v1/partners/:id/activate',
    summary: 'Activate a pending or suspended partner',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.activate',
    scope: 'admin',
    adminOnly: true,
    params: IdParams,
    body: ReasonBody.optional(),
    success: { status: 200, schema: PartnerSchema },
    errors: [409],
  },
  {
    operationId: 'requestPartnerChanges',
    method: 'POST',
    path: '/v1/partners/:id/request-changes',
    summary: 'Review a pending partner: ask for changes with a note (it stays pending; approve is activate, reject is terminate)',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.request-changes',
    scope: 'admin',
    adminOnly: true,
    params: IdParams,
    body: SuspendBody,
    success: { status: 200, schema: PartnerSchema },
    errors: [409],
  },
  {
    operationId: 'suspendPartner',
    method: 'POST',
    path: '/v1/partners/:id/suspend',
    summary: 'Suspend an active partner; its credentials stop working',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.suspend',
    scope: 'admin',
    adminOnly: true,
    params: IdParams,
    body: SuspendBody,
    success: { status: 200, schema: PartnerSchema },
    errors: [409],
  },
  {
    operationId: 'terminatePartner',
    method: 'POST',
    path: '/v1/partners/:id/terminate',
    summary: 'End the partnership (terminal)',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.terminate',
    scope: 'admin',
    adminOnly: true,
    params: IdParams,
    body: SuspendBody,
    success: { status: 200, schema: PartnerSchema },
    errors: [409],
  },
  {
    operationId: 'addPartnerContact',
    method: 'POST',
    path: '/v1/partners/:id/contacts',
    summary: 'Add a contact with a role',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.contacts.add',
    scope: 'write:partners',
    params: IdParams,
    body: AddContactBody,
    success: { status: 201, schema: ContactSchema },
    errors: [409],
  },
  {
    operationId: 'listPartnerContacts',
    method: 'GET',
    path: '/v1/partners/:id/contacts',
    summary: "List a partner's contacts",
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.contacts.list',
    scope: 'read:partners',
    params: IdParams,
    query: PageQuerySchema.extend({ role: ContactRoleSchema.optional() }),
    success: { status: 200, schema: pageOf(ContactSchema) },
  },
  {
    operationId: 'removePartnerContact',
    method: 'DELETE',
    path: '/v1/partners/:id/contacts/:contact_id',
    summary: 'Remove a contact',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.contacts.remove',
    scope: 'write:partners',
    params: ContactParams,
    success: { status: 204, schema: null },
    errors: [409],
  },
  {
    operationId: 'signPartnerAgreement',
    method: 'POST',
    path: '/v1/partners/:id/agreements',
    summary: 'Record a new signed version of the partner agreement',
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.agreements.sign',
    scope: 'admin',
    adminOnly: true,
    params: IdParams,
    body: SignAgreementBody,
    success: { status: 201, schema: AgreementSchema },
    errors: [409],
  },
  {
    operationId: 'listPartnerAgreements',
    method: 'GET',
    path: '/v1/partners/:id/agreements',
    summary: "List a partner's agreement versions, newest first",
    tag: 'Partners',
    service: 'partner-registry',
    pattern: 'partners.agreements.list',
    scope: 'read:partners',
    params: IdParams,
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(AgreementSchema) },
  },
]);
