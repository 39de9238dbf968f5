import { z } from 'zod';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { PartnerStatusSchema, PartnerTierSchema, PartnerTypeSchema } from './events.ts';

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
]);
