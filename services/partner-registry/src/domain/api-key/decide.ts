import { type ApiKeyEnvironment, type PartnerStatus, scopeAllows } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { type ApiKeyEvent, type ApiKeyState, apiKeyStatus } from './api-key.ts';

/** Usage is recorded at most this often per key (the gateway flushes more often; finer detail is noise). */
export const USAGE_GRANULARITY_MS = 60_000;

/**
 * Commands on an API key. The secret is minted by the caller (the handler) and only its hash and display
 * prefix enter the command, so neither the decider nor the events ever see a key.
 */
export type ApiKeyCommand =
  | {
      type: 'CreateApiKey';
      data: {
        api_key_id: string;
        partner_id: string;
        name: string;
        environment: ApiKeyEnvironment;
        prefix: string;
        hash: string;
        scopes: string[];
        expires_at: string | null;
        rate_limit_per_minute: number | null;
        created_by: string;
      };
      /** The partner the key is for, as it is now (absent = it does not exist). */
      partner_status: PartnerStatus | undefined;
      /** Scopes the caller holds; it cannot hand out more (`'all'` for platform admins). */
      granter_scopes: readonly string[] | 'all';
      now: Date;
    }
  | { type: 'RotateApiKey'; data: { prefix: string; hash: string; overlap_hours: number }; now: Date }
  | { type: 'RevokeApiKey'; data: { reason: string | null } }
  | { type: 'RecordApiKeyUse'; data: { used_at: string } };

function existing(state: ApiKeyState | undefined): ApiKeyState {
  if (!state) throw new NotFoundError('api key not found');
  return state;
}

export function decideApiKey(command: ApiKeyCommand, state: ApiKeyState | undefined): ApiKeyEvent[] {
  switch (command.type) {
    case 'CreateApiKey': {
      const d = command.data;
      if (state) throw new ConflictError(`api key ${d.api_key_id} already exists`);
      if (!command.partner_status) throw new NotFoundError(`partner ${d.partner_id} not found`);
      if (command.partner_status === 'suspended' || command.partner_status === 'terminated') {
        throw new IllegalTransitionError(`cannot issue keys to a partner that is ${command.partner_status}`, {
          extensions: { current_status: command.partner_status },
        });
      }
      if (d.expires_at !== null && Date.parse(d.expires_at) <= command.now.getTime()) {
        throw new ValidationError([{ path: 'expires_at', message: 'must be in the future' }]);
      }
      if (command.granter_scopes !== 'all') {
        const granter = command.granter_scopes;
        const beyond = d.scopes.filter((s) => !scopeAllows(granter, s));
        if (beyond.length > 0) {
          throw new ValidationError([{ path: 'scopes', message: `exceeds the calling credential's scopes: ${beyond.join(', ')}` }]);
        }
      }
      return [{ type: 'api_key.created', data: d }];
    }
    case 'RotateApiKey': {
      const s = existing(state);
      const status = apiKeyStatus(s, command.now);
      if (status !== 'active') {
        throw new IllegalTransitionError(`cannot rotate a key that is ${status}`, { extensions: { current_status: status } });
      }
      const validUntil = new Date(command.now.getTime() + command.data.overlap_hours * 3_600_000).toISOString();
      return [
        {
          type: 'api_key.rotated',
          data: {
            api_key_id: s.id,
            partner_id: s.partner_id,
            prefix: command.data.prefix,
            hash: command.data.hash,
            previous_hash: s.hash,
            previous_valid_until: validUntil,
          },
        },
      ];
    }
    case 'RevokeApiKey': {
      const s = existing(state);
      if (s.revoked) return [];
      return [{ type: 'api_key.revoked', data: { api_key_id: s.id, partner_id: s.partner_id, reason: command.data.reason } }];
    }
    case 'RecordApiKeyUse': {
      if (!state || state.revoked) return [];
      const used = Date.parse(command.data.used_at);
      if (state.last_used_at && used - Date.parse(state.last_used_at) < USAGE_GRANULARITY_MS) return [];
      return [{ type: 'api_key.used', data: { api_key_id: state.id, partner_id: state.partner_id, last_used_at: command.data.used_at } }];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
