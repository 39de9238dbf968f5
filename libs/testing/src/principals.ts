import type { Principal } from '@pep/contracts';

/** A platform administrator, as the gateway forwards an admin credential (well-formed key id). */
export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'key_adm1nx00000000000000000000' };

/** A caller of a `public` route without a credential. */
export const anonymous: Principal = { kind: 'anonymous', scopes: [], credential_id: 'anonymous' };

/** A partner's API key with the given scopes (default: read and write everything of its own). */
export function partnerPrincipal(partnerId: string, scopes: string[] = ['read:*', 'write:*']): Principal {
  return { kind: 'partner', partner_id: partnerId, scopes, credential_id: `key_${partnerId}` };
}
