import { scopeAllows } from '@pep/contracts';
import { ConflictError, type FieldError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import type { OAuthClientEvent, OAuthClientState } from './oauth-client.ts';

export type OAuthClientCommand =
  | {
      type: 'CreateOAuthClient';
      data: {
        client_id: string;
        application_id: string;
        partner_id: string;
        type: 'confidential' | 'public';
        redirect_uris: string[];
        scopes: string[];
        secret_hash: string | null;
        created_by: string;
      };
      /** The owning application's status (absent = it does not exist). */
      application_status: string | undefined;
      granter_scopes: readonly string[] | 'all';
    }
  | { type: 'RevokeOAuthClient'; data: { reason: string | null } }
  | { type: 'RotateOAuthClientSecret'; data: { secret_hash: string; rotated_by: string } };

const CLOSED_APPLICATION_STATUSES = new Set(['rejected', 'retired']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Redirect URIs are matched exactly by the authorization server, so they are checked strictly here: absolute
 * https URIs without a fragment, or http on a loopback host (native apps, RFC 8252 §7.3).
 */
export function redirectUriProblems(uris: string[]): FieldError[] {
  const out: FieldError[] = [];
  uris.forEach((raw, i) => {
    const u = URL.parse(raw);
    if (!u) {
      out.push({ path: `redirect_uris.${i}`, message: 'must be an absolute URI' });
      return;
    }
    if (u.hash || raw.includes('#')) out.push({ path: `redirect_uris.${i}`, message: 'must not contain a fragment' });
    else if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname))) {
      out.push({ path: `redirect_uris.${i}`, message: 'must use https (http only on a loopback host)' });
    }
  });
  return out;
}

export function decideOAuthClient(command: OAuthClientCommand, state: OAuthClientState | undefined): OAuthClientEvent[] {
  switch (command.type) {
    case 'CreateOAuthClient': {
      const d = command.data;
      if (state) throw new ConflictError(`oauth client ${d.client_id} already exists`);
      if (command.application_status === undefined) throw new NotFoundError(`application ${d.application_id} not found`);
      if (CLOSED_APPLICATION_STATUSES.has(command.application_status)) {
        throw new IllegalTransitionError(`cannot add clients to an application that is ${command.application_status}`, {
          extensions: { current_status: command.application_status },
        });
      }
      const problems = redirectUriProblems(d.redirect_uris);
      if (d.type === 'public' && d.redirect_uris.length === 0) {
        problems.push({ path: 'redirect_uris', message: 'a public client needs at least one redirect URI' });
      }
      if (command.granter_scopes !== 'all') {
        const granter = command.granter_scopes;
        const beyond = d.scopes.filter((s) => !scopeAllows(granter, s));
        if (beyond.length) problems.push({ path: 'scopes', message: `exceeds the calling credential's scopes: ${beyond.join(', ')}` });
      }
      if ((d.type === 'confidential') !== (d.secret_hash !== null)) {
        throw new Error('a confidential client has a secret and a public one has none');
      }
      if (problems.length) throw new ValidationError(problems);
      return [{ type: 'oauth_client.created', data: d }];
    }
    case 'RevokeOAuthClient': {
      if (!state) throw new NotFoundError('oauth client not found');
      if (state.revoked) return [];
      return [
        {
          type: 'oauth_client.revoked',
          data: {
            client_id: state.client_id,
            application_id: state.application_id,
            partner_id: state.partner_id,
            reason: command.data.reason,
          },
        },
      ];
    }
    case 'RotateOAuthClientSecret': {
      if (!state) throw new NotFoundError('oauth client not found');
      if (state.revoked)
        throw new IllegalTransitionError('a revoked client has no secret to rotate', { extensions: { current_status: 'revoked' } });
      if (state.type !== 'confidential') {
        throw new IllegalTransitionError('a public client has no secret (it proves itself with PKCE)', {
          extensions: { client_type: state.type },
        });
      }
      return [
        {
          type: 'oauth_client.secret_rotated',
          data: {
            client_id: state.client_id,
            application_id: state.application_id,
            partner_id: state.partner_id,
            secret_hash: command.data.secret_hash,
            rotated_by: command.data.rotated_by,
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
