import { decryptSecret, encryptSecret } from '@pep/webhooks';

/** Binds a sealed secret to its place in a policy, so a sealed value cannot be moved to another provider. */
export function sealAad(policyId: string, what: 'provider' | 'webhook', id: string): string {
  return `${policyId}:${what}:${id}`;
}

export const seal = (plain: string, key: string, aad: string) => encryptSecret(plain, key, aad);
export const unseal = (sealed: string, key: string, aad: string) => decryptSecret(sealed, key, aad);
