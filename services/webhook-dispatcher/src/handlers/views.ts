import type { Attempt, Delivery, WebhookEndpoint, WebhookJob } from '@pep/contracts';
import { decryptSecret, type Keyring, SecretBoxError, sealedKeyId } from '@pep/webhooks';
import type { Selectable } from 'kysely';
import type { AttemptsTable, DeliveriesTable } from '../db/schema.ts';
import type { EndpointState } from '../domain/webhook-endpoint/webhook-endpoint.ts';
import type { JobRow } from '../jobs/job-runner.ts';
import type { EndpointRow } from '../projections/endpoints/index.ts';

const iso = (d: Date | string | null) => (d === null ? null : typeof d === 'string' ? d : d.toISOString());

/**
 * Whether an endpoint needs an operator or its partner: its signing secret cannot be decrypted with the configured
 * keyring, so the dispatcher skips it (no deliveries) until the secret is rotated or the key configured again.
 */
export function attentionFor(r: EndpointRow, keyring: Keyring): WebhookEndpoint['needs_attention'] {
  try {
    decryptSecret(r.secret_sealed, keyring, r.id);
    return null;
  } catch (err) {
    if (!(err instanceof SecretBoxError)) throw err;
    return {
      reason: 'secret_unreadable',
      key_id: err.keyId ?? sealedKeyId(r.secret_sealed) ?? null,
      detail: `${err.message}; nothing is delivered to this endpoint until its secret is rotated (POST /v1/webhook-endpoints/${r.id}/rotate-secret) or the key is configured again`,
    };
  }
}

export function endpointFromRow(r: EndpointRow, keyring?: Keyring): WebhookEndpoint {
  return {
    ...(keyring ? { needs_attention: attentionFor(r, keyring) } : {}),
    id: r.id,
    object: 'webhook_endpoint',
    partner_id: r.partner_id,
    url: r.url,
    description: r.description,
    event_types: r.event_types,
    enabled: r.enabled,
    disabled_reason: r.disabled_reason as WebhookEndpoint['disabled_reason'],
    rate_limit_per_s: r.rate_limit_per_s,
    timeout_ms: r.timeout_ms,
    headers: r.headers,
    payload_format: r.payload_format,
    integration_id: r.integration_id,
    version: r.version,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export function endpointFromState(s: EndpointState, version: number): WebhookEndpoint {
  return {
    id: s.endpoint_id,
    object: 'webhook_endpoint',
    partner_id: s.partner_id,
    url: s.url,
    description: s.description,
    event_types: s.event_types,
    enabled: s.enabled,
    disabled_reason: s.disabled_reason,
    rate_limit_per_s: s.rate_limit_per_s,
    timeout_ms: s.timeout_ms,
    headers: s.headers,
    payload_format: s.payload_format,
    integration_id: s.integration_id,
    version,
    created_at: s.created_at,
    updated_at: s.updated_at,
  };
}

export function deliveryView(d: Selectable<DeliveriesTable>): Delivery {
  return {
    id: d.id,
    object: 'webhook_delivery',
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    replay_job_id: d.replay_job_id || null,
    created_at: iso(d.created_at) as string,
    succeeded_at: iso(d.succeeded_at),
  };
}

export function attemptView(a: Selectable<AttemptsTable>): Attempt {
  return {
    id: `att_${a.id}`,
    object: 'webhook_attempt',
    delivery_id: a.delivery_id,
    attempt: a.attempt,
    started_at: iso(a.started_at) as string,
    outcome: a.outcome,
    status_code: a.status_code,
    latency_ms: a.latency_ms,
    response_excerpt: a.response_excerpt,
    error_class: a.error_class,
    mapping_version: a.mapping_version ?? null,
  };
}

export function jobView(j: JobRow): WebhookJob {
  return {
    id: j.id,
    object: 'webhook_job',
    kind: j.kind,
    endpoint_id: j.endpoint_id,
    status: j.status,
    total: j.total,
    processed: j.processed,
    deliveries_created: j.deliveries_created,
    deliveries_reused: j.deliveries_reused,
    error: j.error,
    params: j.params,
    created_at: iso(j.created_at) as string,
    finished_at: iso(j.finished_at),
  };
}
