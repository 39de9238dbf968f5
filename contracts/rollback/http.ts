import { z } from 'zod';
import { safeEmail, safeJson, safeText } from '../common/text.ts';
import { PlatformId, RollbackPolicyId } from '../common/ids.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { CustomerIdSchema } from '../incident/events.ts';
import { CandidatesSchema, FlagProviderSchema, JourneyRuleSchema, RollbackModeSchema } from './events.ts';

const PolicyFields = {
  customer_id: CustomerIdSchema,
  name: safeText().trim().min(1).max(200).optional(),
  mode: RollbackModeSchema.default('auto'),
  cooldown_minutes: z.number().min(0).max(10_080).default(30).describe('No new actions for this customer within this window after a run'),
  max_actions: z.number().int().min(1).max(50).default(5).describe('Blast radius: the most actions one incident may take'),
  candidates: CandidatesSchema.default({ pull_requests_merged_within_hours: 24, flags_changed_within_hours: 24, include_suspects: true }),
  restore_flags_on_resolve: z.boolean().default(true),
  notify_emails: z.array(safeEmail()).max(10).default([]),
  providers: z.array(FlagProviderSchema).max(20).default([]),
  journeys: z.array(JourneyRuleSchema).min(1).max(50),
};

type PolicyInput = {
  providers: { id: string }[];
  journeys: { flags: { provider_id: string }[] }[];
};
const providerRefsExist = (p: PolicyInput, ctx: z.RefinementCtx) => {
  const ids = new Set(p.providers.map((x) => x.id));
  if (ids.size !== p.providers.length) ctx.addIssue({ code: 'custom', path: ['providers'], message: 'provider ids must be unique' });
  for (const [ji, j] of p.journeys.entries()) {
    for (const [fi, f] of j.flags.entries()) {
      if (!ids.has(f.provider_id))
        ctx.addIssue({ code: 'custom', path: ['journeys', ji, 'flags', fi, 'provider_id'], message: `no provider "${f.provider_id}"` });
    }
  }
};

export const CreateRollbackPolicyBody = z
  .object({ partner_id: PlatformId('prt').optional().describe('Admin credentials name the partner'), ...PolicyFields })
  .strict()
  .superRefine(providerRefsExist)
  .meta({ id: 'CreateRollbackPolicy' });

export const ReplaceRollbackPolicyBody = z
  .object({ ...PolicyFields, customer_id: CustomerIdSchema.optional() })
  .strict()
  .superRefine(providerRefsExist)
  .meta({ id: 'ReplaceRollbackPolicy' });

export const RollbackPolicySchema = z
  .object({
    id: safeText(),
    object: z.literal('rollback_policy'),
    partner_id: safeText(),
    customer_id: safeText(),
    name: safeText().nullable(),
    mode: RollbackModeSchema,
    cooldown_minutes: z.number(),
    max_actions: z.number().int(),
    candidates: CandidatesSchema,
    restore_flags_on_resolve: z.boolean(),
    notify_emails: z.array(safeText()),
    providers: z.array(z.record(safeText(), safeJson())).describe('Tokens are never returned; `token_set` tells they are there'),
    journeys: z.array(z.record(safeText(), safeJson())),
    version: z.number().int(),
    created_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'RollbackPolicy' });

export const rollbackRoutes = defineRoutes([
  {
    operationId: 'createRollbackPolicy',
    method: 'POST',
    path: '/v1/rollback/policies',
    summary: "Create a customer's rollback policy (one per customer)",
    tag: 'Rollback',
    service: 'rollback-orchestrator',
    pattern: 'policies.create',
    scope: 'write:rollback',
    body: CreateRollbackPolicyBody,
    success: { status: 201, schema: RollbackPolicySchema },
    errors: [409],
  },
  {
    operationId: 'listRollbackPolicies',
    method: 'GET',
    path: '/v1/rollback/policies',
    summary: 'List rollback policies (a partner sees its own)',
    tag: 'Rollback',
    service: 'rollback-orchestrator',
    pattern: 'policies.list',
    scope: 'read:rollback',
    query: PageQuerySchema.extend({ customer_id: CustomerIdSchema.optional(), partner_id: PlatformId('prt').optional() }),
    success: { status: 200, schema: pageOf(RollbackPolicySchema) },
  },
  {
    operationId: 'getRollbackPolicy',
    method: 'GET',
    path: '/v1/rollback/policies/:id',
    summary: 'Get a rollback policy',
    tag: 'Rollback',
    service: 'rollback-orchestrator',
    pattern: 'policies.get',
    scope: 'read:rollback',
    params: z.object({ id: RollbackPolicyId() }),
    success: { status: 200, schema: RollbackPolicySchema },
  },
  {
    operationId: 'replaceRollbackPolicy',
    method: 'PUT',
    path: '/v1/rollback/policies/:id',
    summary: 'Replace a rollback policy',
    tag: 'Rollback',
    service: 'rollback-orchestrator',
    pattern: 'policies.replace',
    scope: 'write:rollback',
    params: z.object({ id: RollbackPolicyId() }),
    body: ReplaceRollbackPolicyBody,
    success: { status: 200, schema: RollbackPolicySchema },
    errors: [409],
  },
  {
    operationId: 'deleteRollbackPolicy',
    method: 'DELETE',
    path: '/v1/rollback/policies/:id',
    summary: 'Delete a rollback policy',
    tag: 'Rollback',
    service: 'rollback-orchestrator',
    pattern: 'policies.delete',
    scope: 'write:rollback',
    params: z.object({ id: RollbackPolicyId() }),
    success: { status: 204, schema: null },
  },
]);

export type RollbackPolicy = z.output<typeof RollbackPolicySchema>;
