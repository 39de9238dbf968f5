import { z } from 'zod';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { ContactRoleSchema, PartnerStatusSchema, PartnerTierSchema, PartnerTypeSchema, RevenueShareSchema } from './events.ts';

export const PartnerSchema = z
  .object({
    id: z.string(),
    object: z.literal('partner'),
    name: z.string(),
    type: PartnerTypeSchema,
    tier: PartnerTierSchema,
    contact_email: z.string(),
    status: PartnerStatusSchema,
    status_reason: z.string().nullable(),
    version: z.number().int().describe('Stream sequence of the last event applied to this partner'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Partner' });
export type Partner = z.output<typeof PartnerSchema>;

export const CreatePartnerBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    type: PartnerTypeSchema,
    contact_email: z.email().max(320),
    tier: PartnerTierSchema.default('standard'),
  })
  .strict()
  .meta({ id: 'CreatePartner' });

export const UpdatePartnerBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    type: PartnerTypeSchema.optional(),
    contact_email: z.email().max(320).optional(),
    tier: PartnerTierSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' })
  .meta({ id: 'UpdatePartner' });

export const ReasonBody = z
  .object({ reason: z.string().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'Reason' });

export const SuspendBody = z
  .object({ reason: z.string().trim().min(1).max(1000) })
  .strict()
  .meta({ id: 'SuspendPartner' });

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ContactParams = IdParams.extend({ contact_id: z.string().min(1).max(64) });

export const ContactSchema = z
  .object({
    id: z.string(),
    object: z.literal('contact'),
    partner_id: z.string(),
    name: z.string(),
    email: z.string(),
    role: ContactRoleSchema,
    phone: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Contact' });
export type Contact = z.output<typeof ContactSchema>;

export const AddContactBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320),
    role: ContactRoleSchema,
    phone: z.string().trim().min(3).max(40).optional(),
  })
  .strict()
  .meta({ id: 'AddContact' });

export const AgreementStatusSchema = z.enum(['scheduled', 'active', 'superseded', 'expired']);
export const AgreementSchema = z
  .object({
    id: z.string(),
    object: z.literal('agreement'),
    partner_id: z.string(),
    version: z.number().int(),
    title: z.string(),
    status: AgreementStatusSchema.describe('Derived from the dates and later versions at read time'),
    signed_at: z.string(),
    signed_by: z.string(),
    effective_at: z.string(),
    expires_at: z.string().nullable(),
    revenue_share: RevenueShareSchema,
    terms_url: z.string().nullable(),
    supersedes: z.string().nullable(),
    superseded_by: z.string().nullable(),
  })
  .meta({ id: 'Agreement' });
export type Agreement = z.output<typeof AgreementSchema>;

export const SignAgreementBody = z
  .object({
    title: z.string().trim().min(1).max(200).default('Partner agreement'),
    signed_by: z.string().trim().min(1).max(200),
    signed_at: z.iso.datetime({ offset: true }).optional().describe('Defaults to now'),
    effective_at: z.iso.datetime({ offset: true }),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    revenue_share: RevenueShareSchema,
    terms_url: z.url().max(2000).optional(),
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
