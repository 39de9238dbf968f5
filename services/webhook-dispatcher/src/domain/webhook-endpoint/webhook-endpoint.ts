import { DEFAULT_PAYLOAD_FORMAT, type PlatformEvent, type WebhookPayloadFormat } from '@pep/contracts';

/** State of one webhook endpoint aggregate, folded from its `webhook_endpoint.*` events. */
export interface EndpointState {
  status: 'new' | 'active' | 'deleted';
  endpoint_id: string;
  partner_id: string;
  url: string;
  description: string;
  event_types: string[];
  rate_limit_per_s: number | null;
  timeout_ms: number;
  headers: Record<string, string>;
  payload_format: WebhookPayloadFormat;
  /** The integration whose mappings apply (null: unmapped). */
  integration_id: string | null;
  enabled: boolean;
  disabled_reason: 'manual' | 'gone' | 'failing' | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export const initialEndpointState = (): EndpointState => ({
  status: 'new',
  endpoint_id: '',
  partner_id: '',
  url: '',
  description: '',
  event_types: [],
  rate_limit_per_s: null,
  timeout_ms: 0,
  headers: {},
  payload_format: DEFAULT_PAYLOAD_FORMAT,
  integration_id: null,
  enabled: false,
  disabled_reason: null,
  secret_sealed: '',
  previous_secret_sealed: null,
  previous_expires_at: null,
  created_at: '',
  updated_at: '',
});

/** A domain event before it gets its envelope (ids and time come from the caller). */
export type EndpointEventDraft =
  | {
      type: 'webhook_endpoint.created';
      data: {
        endpoint_id: string;
        partner_id: string;
        url: string;
        description: string;
        event_types: string[];
        rate_limit_per_s: number | null;
        timeout_ms: number;
        headers: Record<string, string>;
        /** Absent in events written before payload formats existed: the default. */
        payload_format?: WebhookPayloadFormat;
        /** Absent in events written before integrations could own endpoints: none. */
        integration_id?: string | null;
        secret_sealed: string;
      };
    }
  | {
      type: 'webhook_endpoint.updated';
      data: {
        endpoint_id: string;
        partner_id: string;
        url?: string;
        description?: string;
        event_types?: string[];
        rate_limit_per_s?: number | null;
        timeout_ms?: number;
        headers?: Record<string, string>;
        payload_format?: WebhookPayloadFormat;
        integration_id?: string | null;
      };
    }
  | { type: 'webhook_endpoint.enabled'; data: { endpoint_id: string; partner_id: string } }
  | {
      type: 'webhook_endpoint.disabled';
      data: { endpoint_id: string; partner_id: string; reason: 'manual' | 'gone' | 'failing'; detail?: string };
    }
  | {
      type: 'webhook_endpoint.secret_rotated';
      data: { endpoint_id: string; partner_id: string; secret_sealed: string; previous_secret_sealed: string; previous_expires_at: string };
    }
  | {
      type: 'webhook_endpoint.secret_resealed';
      data: { endpoint_id: string; partner_id: string; key_id: string; secret_sealed: string; previous_secret_sealed: string | null };
    }
  | { type: 'webhook_endpoint.deleted'; data: { endpoint_id: string; partner_id: string } };

/** An endpoint event as stored: a draft with its envelope's time. */
export type EndpointEvent = EndpointEventDraft & { time: string };

export const endpointEventTypes: readonly EndpointEvent['type'][] = [
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.enabled',
  'webhook_endpoint.disabled',
  'webhook_endpoint.secret_rotated',
  'webhook_endpoint.secret_resealed',
  'webhook_endpoint.deleted',
];

/** Whether a stored event is one of this aggregate's (its data is the aggregate's own, written by its decider). */
export function isEndpointEvent(e: Pick<PlatformEvent, 'type' | 'data' | 'time'>): e is EndpointEvent {
  return (endpointEventTypes as readonly string[]).includes(e.type) && typeof e.data === 'object' && e.data !== null;
}

export function evolve(state: EndpointState, e: EndpointEvent): EndpointState {
  switch (e.type) {
    case 'webhook_endpoint.created':
      return {
        ...initialEndpointState(),
        ...e.data,
        status: 'active',
        enabled: true,
        created_at: e.time,
        updated_at: e.time,
      };
    case 'webhook_endpoint.updated': {
      const { endpoint_id: _id, partner_id: _p, ...changes } = e.data;
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      return { ...state, ...defined, updated_at: e.time };
    }
    case 'webhook_endpoint.enabled':
      return { ...state, enabled: true, disabled_reason: null, updated_at: e.time };
    case 'webhook_endpoint.disabled':
      return { ...state, enabled: false, disabled_reason: e.data.reason, updated_at: e.time };
    case 'webhook_endpoint.secret_rotated':
      return {
        ...state,
        secret_sealed: e.data.secret_sealed,
        previous_secret_sealed: e.data.previous_secret_sealed,
        previous_expires_at: e.data.previous_expires_at,
        updated_at: e.time,
      };
    case 'webhook_endpoint.secret_resealed':
      // The same secrets under another key: settings and `updated_at` stay as they were.
      return {
        ...state,
        secret_sealed: e.data.secret_sealed,
        previous_secret_sealed: e.data.previous_secret_sealed,
        previous_expires_at: e.data.previous_secret_sealed ? state.previous_expires_at : null,
      };
    case 'webhook_endpoint.deleted':
      return { ...state, status: 'deleted', enabled: false, updated_at: e.time };
    default: {
      const missing: never = e;
      return missing;
    }
  }
}
