import { z } from 'zod';
import { safeDatetime, safeJson, safeText, safeUrl } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { CustomerIdSchema, IncidentIdSchema } from '../incident/events.ts';

export const RollbackModeSchema = z
  .enum(['auto', 'approval', 'dry_run'])
  .describe('auto: act at once; approval: wait for approve; dry_run: plan only');

/** A provider id names one flag provider inside a policy. */
const ProviderIdSchema = safeText().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, "_" and "-" (1-64)');

/**
 * A flag provider of a policy. Secrets (tokens) are write-only: the API answers `token_set: true`, and
 * the stream and the database keep them sealed (AES-256-GCM).
 */
export const FlagProviderSchema = z.discriminatedUnion('kind', [
  z
    .object({
      id: ProviderIdSchema,
      kind: z.literal('partner_webhook').describe('The partner program flag webhook: POST {base_url}/webhook/pathcanary'),
      base_url: safeUrl().max(2048),
      token: safeText().min(8).max(4096).describe('Bearer token the partner expects'),
    })
    .strict(),
  z
    .object({
      id: ProviderIdSchema,
      kind: z.literal('launchdarkly').describe('LaunchDarkly REST API v2, semantic patch'),
      base_url: safeUrl().max(2048).default('https://app.launchdarkly.com'),
      token: safeText().min(8).max(4096).describe('LaunchDarkly API access token'),
      project_key: safeText().min(1).max(200),
      environment_key: safeText().min(1).max(200),
    })
    .strict(),
  z
    .object({
      id: ProviderIdSchema,
      kind: z.literal('unleash').describe('Unleash admin API'),
      base_url: safeUrl().max(2048).describe('Unleash base URL, without /api'),
      token: safeText().min(8).max(4096).describe('Unleash admin API token'),
      project: safeText().min(1).max(200).default('default'),
      environment: safeText().min(1).max(200),
    })
    .strict(),
]);
export type FlagProvider = z.output<typeof FlagProviderSchema>;

export const RepositoryRefSchema = z
  .object({
    repository: safeText().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/repo"'),
    branch: safeText().min(1).max(255).default('main').describe('The watched branch'),
  })
  .strict();

export const JourneyRuleSchema = z
  .object({
    funnel: safeText().trim().min(1).max(200),
    step: safeText().trim().min(1).max(200).optional().describe('Absent: every step of the funnel'),
    repositories: z.array(RepositoryRefSchema).max(20).default([]),
    flags: z
      .array(z.object({ provider_id: ProviderIdSchema, flag_key: safeText().trim().min(1).max(200) }).strict())
      .max(50)
      .default([]),
    webhooks: z
      .array(
        z
          .object({
            url: safeUrl().max(2048),
            secret: safeText().min(24).max(200).optional().describe('whsec_ secret; generated when absent'),
          })
          .strict(),
      )
      .max(10)
      .default([]),
  })
  .strict();

export const CandidatesSchema = z
  .object({
    pull_requests_merged_within_hours: z.number().min(0).max(720).default(24),
    flags_changed_within_hours: z.number().min(0).max(720).default(24),
    include_suspects: z.boolean().default(true),
  })
  .strict();

/** The policy as decided and stored (secrets sealed). */
export const PolicyDataSchema = z.object({
  policy_id: safeText(),
  partner_id: safeText(),
  customer_id: CustomerIdSchema,
  name: safeText().nullable(),
  mode: RollbackModeSchema,
  cooldown_minutes: z.number(),
  max_actions: z.number().int(),
  candidates: CandidatesSchema,
  restore_flags_on_resolve: z.boolean(),
  notify_emails: z.array(safeText()),
  providers: z.array(z.record(safeText(), safeJson())).describe('Flag providers with sealed tokens'),
  journeys: z.array(z.record(safeText(), safeJson())).describe('Journey rules with sealed webhook secrets'),
});
export type PolicyData = z.output<typeof PolicyDataSchema>;

export const ActionKindSchema = z.enum(['flag_off', 'flag_on', 'revert_pr', 'webhook']);
export const ActionReasonSchema = z.enum(['suspect', 'recent_change', 'journey_webhook', 'restore']);

export const PlannedActionSchema = z
  .object({
    action_id: safeText().describe('Stable per (incident, action): the idempotency key of the action'),
    kind: ActionKindSchema,
    reason: ActionReasonSchema,
    provider_id: safeText().optional(),
    provider_kind: safeText().optional(),
    flag_key: safeText().optional(),
    repository: safeText().optional(),
    branch: safeText().optional(),
    pull_number: z.number().int().optional(),
    url: safeText().optional(),
  })
  .meta({ id: 'PlannedAction' });
export type PlannedAction = z.output<typeof PlannedActionSchema>;

export const RunStatusSchema = z.enum(['executing', 'awaiting_approval', 'dry_run', 'skipped', 'completed', 'partially_failed', 'failed']);

const run = { origin: 'domain', aggregate: 'rollback', category: 'rollback' } as const;
const base = { incident_id: IncidentIdSchema, partner_id: safeText(), customer_id: CustomerIdSchema };

export const RollbackPlanned = defineEvent({
  ...run,
  type: 'rollback.planned',
  version: 1,
  description: 'The rollback run of an incident was planned from the customer policy.',
  data: z.object({
    ...base,
    policy_id: safeText().nullable(),
    mode: RollbackModeSchema,
    status: z.enum(['executing', 'awaiting_approval', 'dry_run', 'skipped']),
    skipped_reason: safeText().nullable(),
    actions: z.array(PlannedActionSchema),
    dropped: z.array(PlannedActionSchema).describe('Candidates left out by the blast radius (max_actions)'),
    action_timeout_ms: z.number().int(),
    planned_at: safeText(),
  }),
});

export const RollbackApproved = defineEvent({
  ...run,
  type: 'rollback.approved',
  version: 1,
  description: 'Someone approved a run that waited for approval.',
  data: z.object({ ...base, approved_by: safeText(), approved_at: safeText() }),
});

const outcome = {
  ...base,
  action_id: safeText(),
  kind: ActionKindSchema,
  phase: z.enum(['rollback', 'restore']),
  attempts: z.number().int(),
  duration_ms: z.number().int(),
  request: safeText().describe('Excerpt of what was sent'),
  response: safeText().describe('Excerpt of what came back'),
  at: safeText(),
};

export const RollbackActionSucceeded = defineEvent({
  ...run,
  type: 'rollback.action_succeeded',
  version: 1,
  description: 'One action of a run took effect (a flag toggled, a revert opened, a webhook answered 2xx).',
  data: z.object({ ...outcome, result: z.record(safeText(), safeJson()) }),
});

export const RollbackActionFailed = defineEvent({
  ...run,
  type: 'rollback.action_failed',
  version: 1,
  description: 'One action of a run failed after its retries, with the reason.',
  data: z.object({ ...outcome, error: safeText() }),
});

const terminal = z.object({
  ...base,
  succeeded: z.number().int(),
  failed: z.number().int(),
  dry_run: z.boolean(),
  actions: z.array(
    z.object({ action_id: safeText(), kind: ActionKindSchema, status: z.enum(['succeeded', 'failed', 'skipped']), detail: safeText() }),
  ),
  finished_at: safeText(),
});

export const RollbackCompleted = defineEvent({
  ...run,
  type: 'rollback.completed',
  version: 1,
  description: 'Every action of the run succeeded (or a dry run / skipped run was recorded).',
  data: terminal,
});
export const RollbackPartiallyFailed = defineEvent({
  ...run,
  type: 'rollback.partially_failed',
  version: 1,
  description: 'Some actions of the run succeeded and some failed.',
  data: terminal,
});
export const RollbackFailed = defineEvent({
  ...run,
  type: 'rollback.failed',
  version: 1,
  description: 'No action of the run succeeded.',
  data: terminal,
});

export const RollbackRestored = defineEvent({
  ...run,
  type: 'rollback.restored',
  version: 1,
  description: 'After the incident was resolved, the flags the run turned off were turned back on.',
  data: z.object({ ...base, restored: z.number().int(), failed: z.number().int(), finished_at: safeText() }),
});

const policy = { origin: 'domain', aggregate: 'rollback_policy', category: 'rollback' } as const;

export const RollbackPolicyCreated = defineEvent({
  ...policy,
  type: 'rollback.policy_created',
  version: 1,
  description: "A customer's rollback policy was created.",
  data: PolicyDataSchema,
});
export const RollbackPolicyUpdated = defineEvent({
  ...policy,
  type: 'rollback.policy_updated',
  version: 1,
  description: "A customer's rollback policy was replaced.",
  data: PolicyDataSchema,
});
export const RollbackPolicyDeleted = defineEvent({
  ...policy,
  type: 'rollback.policy_deleted',
  version: 1,
  description: "A customer's rollback policy was deleted; its incidents are only recorded.",
  data: z.object({ policy_id: safeText(), partner_id: safeText(), customer_id: CustomerIdSchema }),
});

/** Partners (or their flag system) report flag changes so a policy can pick recently changed flags. */
export const FeatureFlagChanged = defineEvent({
  type: 'featureflag.changed',
  version: 1,
  origin: 'external',
  category: 'rollback',
  description: "A customer's feature flag changed (candidates for a rollback within flags_changed_within_hours).",
  data: z
    .object({
      customer_id: CustomerIdSchema,
      flag_key: safeText().trim().min(1).max(200),
      enabled: z.boolean().optional(),
      changed_at: safeDatetime({ offset: true }),
    })
    .strict(),
});

export const rollbackEvents = [
  RollbackPlanned,
  RollbackApproved,
  RollbackActionSucceeded,
  RollbackActionFailed,
  RollbackCompleted,
  RollbackPartiallyFailed,
  RollbackFailed,
  RollbackRestored,
  RollbackPolicyCreated,
  RollbackPolicyUpdated,
  RollbackPolicyDeleted,
  FeatureFlagChanged,
] as const;
