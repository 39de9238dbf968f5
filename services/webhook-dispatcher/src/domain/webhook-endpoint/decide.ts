import type { WebhookPayloadFormat } from '@pep/contracts';
import { ConflictError, NotFoundError } from '@pep/runtime';
import type { EndpointEventDraft, EndpointState } from './webhook-endpoint.ts';

export interface EndpointSettings {
  url: string;
  description: string;
  event_types: string[];
  rate_limit_per_s: number | null;
  timeout_ms: number;
  headers: Record<string, string>;
  payload_format: WebhookPayloadFormat;
  /** The integration whose mappings apply (absent or null: none). */
  integration_id?: string | null;
}

export type EndpointCommand =
  | { kind: 'CreateEndpoint'; endpoint_id: string; partner_id: string; settings: EndpointSettings; secret_sealed: string }
  | { kind: 'UpdateEndpoint'; changes: Partial<EndpointSettings>; enabled?: boolean }
  | { kind: 'DisableEndpoint'; reason: 'manual' | 'gone' | 'failing'; detail?: string }
  | { kind: 'RotateSecret'; secret_sealed: string; now: Date; grace_ms: number }
  | {
      kind: 'ResealSecret';
      key_id: string;
      /** What the re-encryption read: if the endpoint changed since (a rotation), nothing is re-sealed. */
      expected_secret_sealed: string;
      secret_sealed: string;
      previous_secret_sealed: string | null;
    }
  | { kind: 'DeleteEndpoint' };

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Pure decider of the webhook endpoint aggregate: the events a command produces, or a named error. */
export function decide(command: EndpointCommand, state: EndpointState): EndpointEventDraft[] {
  if (command.kind === 'CreateEndpoint') {
    if (state.status !== 'new') throw new ConflictError(`webhook endpoint ${command.endpoint_id} already exists`);
    return [
      {
        type: 'webhook_endpoint.created',
        data: {
          endpoint_id: command.endpoint_id,
          partner_id: command.partner_id,
          ...command.settings,
          secret_sealed: command.secret_sealed,
        },
      },
    ];
  }
  if (state.status !== 'active') throw new NotFoundError('webhook endpoint not found');
  const ids = { endpoint_id: state.endpoint_id, partner_id: state.partner_id };
  switch (command.kind) {
    case 'UpdateEndpoint': {
      const out: EndpointEventDraft[] = [];
      const changed = Object.fromEntries(
        Object.entries(command.changes).filter(([k, v]) => v !== undefined && !same(v, state[k as keyof EndpointSettings])),
      ) as Partial<EndpointSettings>;
      if (Object.keys(changed).length > 0) out.push({ type: 'webhook_endpoint.updated', data: { ...ids, ...changed } });
      if (command.enabled === true && !state.enabled) out.push({ type: 'webhook_endpoint.enabled', data: ids });
      if (command.enabled === false && state.enabled) out.push({ type: 'webhook_endpoint.disabled', data: { ...ids, reason: 'manual' } });
      return out;
    }
    case 'DisableEndpoint':
      if (!state.enabled) return [];
      return [
        {
          type: 'webhook_endpoint.disabled',
          data: { ...ids, reason: command.reason, ...(command.detail ? { detail: command.detail } : {}) },
        },
      ];
    case 'RotateSecret':
      return [
        {
          type: 'webhook_endpoint.secret_rotated',
          data: {
            ...ids,
            secret_sealed: command.secret_sealed,
            previous_secret_sealed: state.secret_sealed,
            previous_expires_at: new Date(command.now.getTime() + command.grace_ms).toISOString(),
          },
        },
      ];
    case 'ResealSecret':
      if (state.secret_sealed !== command.expected_secret_sealed)
        throw new ConflictError(`webhook endpoint ${state.endpoint_id}'s secret changed while it was re-encrypted; run it again`);
      return [
        {
          type: 'webhook_endpoint.secret_resealed',
          data: {
            ...ids,
            key_id: command.key_id,
            secret_sealed: command.secret_sealed,
            previous_secret_sealed: command.previous_secret_sealed,
          },
        },
      ];
    case 'DeleteEndpoint':
      return [{ type: 'webhook_endpoint.deleted', data: ids }];
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
