import type { PlannedAction, Principal } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import { rpcCall } from '@pep/service';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';
import type { StoredPolicy, StoredProvider } from '../domain/rollback-policy/rollback-policy.ts';
import type { Phase, PlannedData } from '../domain/rollback-run/rollback-run.ts';
import { callCustomWebhook } from '../providers/custom-webhook.ts';
import { excerpt, type Outbound, ProviderError, withRetries } from '../providers/http.ts';
import { toggleLaunchDarkly } from '../providers/launchdarkly.ts';
import { callPartnerFlagWebhook } from '../providers/partner-webhook.ts';
import { toggleUnleash } from '../providers/unleash.ts';
import { openPolicySecret, type SecretsKey } from './secrets.ts';

type ActionKind = PlannedAction['kind'];
type FlagActionKind = Extract<ActionKind, 'flag_off' | 'flag_on'>;
type ProviderKind = StoredProvider['kind'];
type ProviderOf<P extends ProviderKind> = Extract<StoredProvider, { kind: P }>;

/**
 * Who performs an action: a flag action per flag provider, every other kind by itself. The table below is a
 * `Record` over these keys, so a new action kind or provider kind does not compile until it has a performer.
 */
export type PerformerKey = `${FlagActionKind}:${ProviderKind}` | Exclude<ActionKind, FlagActionKind>;

/** One action of a run, as a performer sees it. */
export interface ActionCall {
  key: string;
  plan: PlannedData;
  action: PlannedAction;
  phase: Phase;
  policy: StoredPolicy | undefined;
  /** The flag provider of a flag action (resolved from the policy before the performer is chosen). */
  provider: StoredProvider | undefined;
  /** Epoch ms by which the action must be done (the run's per-action timeout). */
  deadline: number;
  /** A timeout for one attempt: at most `cap`, never past the deadline. */
  remaining: (cap: number) => number;
  idempotencyKey: string;
}

export interface Performed {
  value: { request: string; response: string; result: Record<string, unknown> };
  attempts: number;
}
type Performer = (call: ActionCall) => Promise<Performed>;

export interface PerformerDeps {
  db: Kysely<OrchestratorDB>;
  outbound: Outbound;
  nc: NatsConnection;
  rpcPrefix: string;
  secretsKey: SecretsKey;
  logger: Logger;
  /** A policy secret the keyring cannot open (counted by the caller). */
  onUnreadableSecret?: () => void;
  settings: { FLAG_WEBHOOK_TIMEOUT_MS: number; FLAG_WEBHOOK_ATTEMPTS: number; GITHUB_RPC_TIMEOUT_MS: number; PUBLIC_BASE_URL: string };
  now: () => Date;
}

const SERVICE_PRINCIPAL: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'svc_rollback-orchestrator' };
const isProvider = <P extends ProviderKind>(p: StoredProvider, kind: P): p is ProviderOf<P> => p.kind === kind;

/** A flag toggle: what every provider gets (the plain token, the flag, on or off, why). */
interface FlagToggle {
  provider: StoredProvider;
  token: string;
  flagKey: string;
  on: boolean;
  reason: string;
}

/** Which performer runs an action: a flag action's provider must still be in the customer's policy. */
export function performerFor(action: PlannedAction, policy: StoredPolicy | undefined): { key: PerformerKey; provider?: StoredProvider } {
  if (action.kind === 'flag_off' || action.kind === 'flag_on') {
    const provider = policy?.providers.find((p) => p.id === action.provider_id);
    if (!policy || !provider)
      throw new ProviderError(`flag provider "${action.provider_id}" is not in the customer's policy any more`, false);
    return { key: `${action.kind}:${provider.kind}`, provider };
  }
  return { key: action.kind };
}

export function createPerformers(deps: PerformerDeps) {
  const { settings } = deps;
  // A secret the keyring cannot open fails its own action only (logged with ids, counted); the others go on.
  const openSecret = (sealed: string, where: { policyId: string; what: 'provider' | 'webhook'; id: string }) =>
    openPolicySecret(sealed, deps.secretsKey, where, {
      logger: deps.logger,
      ...(deps.onUnreadableSecret ? { onUnreadable: deps.onUnreadableSecret } : {}),
    });

  /** A performer of one provider kind: unseals the provider's token and toggles the flag the action names. */
  const flag =
    <P extends ProviderKind>(
      kind: P,
      toggle: (provider: ProviderOf<P>, t: FlagToggle, call: ActionCall) => Promise<Performed>,
    ): Performer =>
    (call) => {
      const { action, plan, policy, provider } = call;
      if (!policy || !provider || !isProvider(provider, kind))
        throw new ProviderError(`flag provider "${action.provider_id}" is not a ${kind} provider of the customer's policy`, false);
      const on = action.kind === 'flag_on';
      const token = openSecret(provider.token, { policyId: policy.policy_id, what: 'provider', id: provider.id });
      const reason = on ? `incident ${plan.incident_id} resolved` : `PathCanary incident ${plan.incident_id} (${action.reason})`;
      return toggle(provider, { provider, token, flagKey: action.flag_key as string, on, reason }, call);
    };

  const partnerWebhook = flag('partner_webhook', (provider, t, call) => {
    const requestedAt = call.phase === 'rollback' ? call.plan.planned_at : deps.now().toISOString();
    return withRetries(settings.FLAG_WEBHOOK_ATTEMPTS, call.deadline, () =>
      callPartnerFlagWebhook(
        deps.outbound,
        {
          baseUrl: provider.base_url,
          token: t.token,
          flagKey: t.flagKey,
          action: t.on ? 'enable' : 'disable',
          incidentId: call.plan.incident_id,
          reason: t.reason,
          requestedAt,
          idempotencyKey: call.idempotencyKey,
        },
        call.remaining(settings.FLAG_WEBHOOK_TIMEOUT_MS),
      ),
    );
  });

  /** A flag API call: three attempts within the deadline, each at most 5 s. */
  const flagApi = (call: ActionCall, send: (timeoutMs: number) => Promise<Performed['value']>) =>
    withRetries(3, call.deadline, () => send(call.remaining(5000)));

  const launchDarkly = flag('launchdarkly', (provider, t, call) =>
    flagApi(call, (timeoutMs) =>
      toggleLaunchDarkly(
        deps.outbound,
        {
          baseUrl: provider.base_url,
          token: t.token,
          projectKey: provider.project_key,
          environmentKey: provider.environment_key,
          flagKey: t.flagKey,
          on: t.on,
          comment: t.reason,
        },
        timeoutMs,
      ),
    ),
  );

  const unleash = flag('unleash', (provider, t, call) =>
    flagApi(call, (timeoutMs) =>
      toggleUnleash(
        deps.outbound,
        {
          baseUrl: provider.base_url,
          token: t.token,
          project: provider.project,
          environment: provider.environment,
          flagKey: t.flagKey,
          on: t.on,
        },
        timeoutMs,
      ),
    ),
  );

  /** Asks github-bridge to open the revert pull request, with the incident's context for the reviewer. */
  const revertPullRequest: Performer = async ({ key, plan, action, deadline, remaining }) => {
    const incident = await deps.db
      .selectFrom('incidents')
      .select(['journey', 'severity', 'detected_at', 'evidence'])
      .where('key', '=', key)
      .executeTakeFirst();
    const journey: Partial<NonNullable<typeof incident>['journey']> = incident?.journey ?? {};
    const evidence = incident?.evidence ?? {};
    const body = {
      incident_id: plan.incident_id,
      repository: action.repository,
      pull_number: action.pull_number,
      context: {
        customer_id: plan.customer_id,
        journey: `${journey.funnel ?? '?'} / ${journey.step ?? '?'} (${journey.url ?? ''})`,
        severity: incident?.severity ?? 'unknown',
        detected_at: incident?.detected_at ?? plan.planned_at,
        ...(evidence.error ? { error: evidence.error } : {}),
        ...(evidence.screenshot_url ? { screenshot_url: evidence.screenshot_url } : {}),
        incident_url: `${settings.PUBLIC_BASE_URL.replace(/\/+$/, '')}/v1/incidents/${plan.incident_id}`,
      },
    };
    return withRetries(2, deadline, async () => {
      let reply: Awaited<ReturnType<typeof rpcCall>>;
      try {
        reply = await rpcCall(
          deps.nc,
          `${deps.rpcPrefix}.github-bridge.reverts.open`,
          { principal: SERVICE_PRINCIPAL, body },
          remaining(settings.GITHUB_RPC_TIMEOUT_MS),
        );
      } catch (err) {
        throw new ProviderError(`github-bridge did not answer: ${(err as Error).message}`, true, '', { cause: err });
      }
      if (!reply.ok) {
        const p = reply.problem;
        throw new ProviderError(String(p.detail ?? p.title), p.status >= 500, excerpt(p));
      }
      const r = reply.body as Record<string, unknown>;
      return { request: excerpt({ rpc: 'github-bridge.reverts.open', ...body }), response: excerpt(r), result: r };
    });
  };

  /** Calls a journey's custom webhook (signed with its unsealed secret). */
  const customWebhook: Performer = ({ key, plan, action, phase, policy, deadline, remaining }) => {
    const hook = policy?.journeys.flatMap((j) => j.webhooks).find((w) => w.url === action.url);
    if (!policy || !hook) throw new ProviderError(`webhook ${action.url} is not in the customer's policy any more`, false);
    const secret = openSecret(hook.secret, { policyId: policy.policy_id, what: 'webhook', id: hook.url });
    const payload = {
      type: 'rollback.action_requested',
      incident_id: plan.incident_id,
      customer_id: plan.customer_id,
      action_id: action.action_id,
      phase,
      requested_at: plan.planned_at,
    };
    return withRetries(3, deadline, () =>
      callCustomWebhook(
        deps.outbound,
        { url: hook.url, secret, webhookId: `${key}_${action.action_id}_${phase}`, payload, now: deps.now() },
        remaining(5000),
      ),
    );
  };

  const performers: Record<PerformerKey, Performer> = {
    'flag_off:partner_webhook': partnerWebhook,
    'flag_on:partner_webhook': partnerWebhook,
    'flag_off:launchdarkly': launchDarkly,
    'flag_on:launchdarkly': launchDarkly,
    'flag_off:unleash': unleash,
    'flag_on:unleash': unleash,
    revert_pr: revertPullRequest,
    webhook: customWebhook,
  };

  /** Performs one action with the performer of its kind (and provider); throws a ProviderError when it fails. */
  return async function perform(call: Omit<ActionCall, 'provider'>): Promise<Performed> {
    const { key, provider } = performerFor(call.action, call.policy);
    // A kind from an event or a policy newer than this code: fail the action, not the run.
    if (!Object.hasOwn(performers, key)) throw new ProviderError(`unknown action kind ${key}`, false);
    return performers[key]({ ...call, provider });
  };
}
