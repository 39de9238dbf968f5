import { randomBytes } from 'node:crypto';
import { createLogger, encryptSecret } from '@pep/runtime';
import { describe, expect, it } from 'vitest';
import { orchestratorConfigSchema } from '../src/config.ts';
import { openPolicySecret, policySecretsReport, sealAad, secretsKeyring, UnreadableSecretError } from '../src/app/secrets.ts';

// The orchestrator's secrets under the shared keyring: old keys still open what they sealed, the current one seals,
// and a secret no configured key opens is skipped, logged, counted and reported while the others keep working.
const key = () => randomBytes(32).toString('base64');
const k1 = key();
const k2 = key();
const gone = key();
const logger = createLogger('test', 'silent');

const policy = (id: string, token: string, secret: string) => ({
  policy_id: id,
  providers: [{ id: 'flags', token }],
  journeys: [{ webhooks: [{ url: 'https://hooks.example.com/x', secret }] }],
});

describe('rollback-orchestrator keyring', () => {
  it('seals under the current key, opens values of older keys and of the single key before keyrings', () => {
    const before = secretsKeyring({ ROLLBACK_SECRETS_KEY: k1 });
    const legacy = encryptSecret('tok-legacy', k1, sealAad('rbp_a', 'provider', 'flags'));
    const ring = secretsKeyring({ ROLLBACK_SECRETS_KEYS: `k2:${k2}`, ROLLBACK_SECRETS_KEY: k1 });
    expect(ring.current).toBe('k2');
    const sealed = encryptSecret('tok-new', ring, sealAad('rbp_b', 'provider', 'flags'));
    expect(sealed).toMatch(/^enc:v2:k2:/);
    const report = { logger };
    expect(openPolicySecret(legacy, ring, { policyId: 'rbp_a', what: 'provider', id: 'flags' }, report)).toBe('tok-legacy');
    expect(openPolicySecret(sealed, ring, { policyId: 'rbp_b', what: 'provider', id: 'flags' }, report)).toBe('tok-new');
    expect(before.current).toBe('default');
  });

  it('skips, counts and reports a secret sealed under a key no longer configured; the others keep working', () => {
    const old = secretsKeyring({ ROLLBACK_SECRETS_KEYS: `gone:${gone}` });
    const ring = secretsKeyring({ ROLLBACK_SECRETS_KEYS: `k2:${k2},k1:${k1}` });
    const k1Ring = secretsKeyring({ ROLLBACK_SECRETS_KEYS: `k1:${k1}` });
    const lost = policy(
      'rbp_lost',
      encryptSecret('t', old, sealAad('rbp_lost', 'provider', 'flags')),
      encryptSecret('s', ring, sealAad('rbp_lost', 'webhook', 'https://hooks.example.com/x')),
    );
    const fine = policy(
      'rbp_fine',
      encryptSecret('t2', k1Ring, sealAad('rbp_fine', 'provider', 'flags')),
      encryptSecret('s2', ring, sealAad('rbp_fine', 'webhook', 'https://hooks.example.com/x')),
    );
    let counted = 0;
    const report = { logger, onUnreadable: () => counted++ };
    const where = (p: { policy_id: string }) => ({ policyId: p.policy_id, what: 'provider' as const, id: 'flags' });
    expect(() => openPolicySecret(lost.providers[0]?.token ?? '', ring, where(lost), report)).toThrow(UnreadableSecretError);
    expect(() => openPolicySecret(lost.providers[0]?.token ?? '', ring, where(lost), report)).toThrow(/sealed under key gone/);
    expect(counted).toBe(2);
    expect(openPolicySecret(fine.providers[0]?.token ?? '', ring, where(fine), report)).toBe('t2');

    const r = policySecretsReport([lost, fine], ring);
    expect(r.total).toBe(4);
    expect(r.unreadable).toEqual([{ policy_id: 'rbp_lost', secret: 'provider', id: 'flags', key_id: 'gone' }]);
    expect(r.to_reseal).toEqual([{ policy_id: 'rbp_fine', secret: 'provider', id: 'flags', key_id: 'k1' }]);
    expect(r.keys).toEqual(['k2', 'k1']);
  });

  it('refuses a config without any key, or with a malformed keyring, naming the variable', () => {
    expect(() => secretsKeyring({})).toThrow(/ROLLBACK_SECRETS_KEYS/);
    expect(orchestratorConfigSchema.safeParse({}).success).toBe(false);
    expect(orchestratorConfigSchema.safeParse({ ROLLBACK_SECRETS_KEYS: 'nokey' }).success).toBe(false);
    expect(orchestratorConfigSchema.safeParse({ ROLLBACK_SECRETS_KEYS: `a:${k1}`, ROLLBACK_SECRETS_KEY_CURRENT: 'b' }).success).toBe(false);
    expect(orchestratorConfigSchema.safeParse({ ROLLBACK_SECRETS_KEYS: `a:${k1}` }).success).toBe(true);
  });
});
