import {
  ConfigError,
  decryptSecret,
  encryptSecret,
  type Keyring,
  type Logger,
  parseKeyring,
  SecretBoxError,
  sealedKeyId,
} from '@pep/runtime';

/** Binds a sealed secret to its place in a policy, so a sealed value cannot be moved to another provider. */
export function sealAad(policyId: string, what: 'provider' | 'webhook', id: string): string {
  return `${policyId}:${what}:${id}`;
}

/**
 * The orchestrator's keyring (the same implementation as the webhook dispatcher's, from @pep/runtime):
 * `ROLLBACK_SECRETS_KEYS=id:key,…` with `ROLLBACK_SECRETS_KEY_CURRENT` (default: the first) sealing new secrets and
 * every listed key still opening what it sealed; a single `ROLLBACK_SECRETS_KEY` (before keyrings) joins as
 * `default` and opens the `enc:v1:` values it sealed.
 */
export function secretsKeyring(c: {
  ROLLBACK_SECRETS_KEYS?: string | undefined;
  ROLLBACK_SECRETS_KEY_CURRENT?: string | undefined;
  ROLLBACK_SECRETS_KEY?: string | undefined;
}): Keyring {
  if (!c.ROLLBACK_SECRETS_KEYS && !c.ROLLBACK_SECRETS_KEY)
    throw new ConfigError('ROLLBACK_SECRETS_KEYS (id:key,…) or ROLLBACK_SECRETS_KEY is required (32-byte keys, hex or base64)');
  return parseKeyring({ keys: c.ROLLBACK_SECRETS_KEYS, current: c.ROLLBACK_SECRETS_KEY_CURRENT, legacy: c.ROLLBACK_SECRETS_KEY });
}

export type SecretsKey = Keyring | string;

export const seal = (plain: string, key: SecretsKey, aad: string) => encryptSecret(plain, key, aad);
export const unseal = (sealed: string, key: SecretsKey, aad: string) => decryptSecret(sealed, key, aad);

/** A policy's secret that the configured keyring cannot open: its action is skipped and reported, others go on. */
export class UnreadableSecretError extends Error {
  constructor(
    readonly policyId: string,
    readonly what: 'provider' | 'webhook',
    readonly id: string,
    readonly keyId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `the ${what} secret of ${id} in policy ${policyId} cannot be decrypted (sealed under key ${keyId ?? 'v1 (no id)'}, ` +
        'not in ROLLBACK_SECRETS_KEYS?): action skipped; `npm run ops -- secrets status rollback-orchestrator` lists them',
      options,
    );
    this.name = 'UnreadableSecretError';
  }
}

/** Opens one policy secret, or throws UnreadableSecretError after logging it with its ids and counting it. */
export function openPolicySecret(
  sealed: string,
  key: SecretsKey,
  where: { policyId: string; what: 'provider' | 'webhook'; id: string },
  report: { logger: Logger; onUnreadable?: () => void },
): string {
  try {
    return unseal(sealed, key, sealAad(where.policyId, where.what, where.id));
  } catch (err) {
    if (!(err instanceof SecretBoxError)) throw err;
    const keyId = sealedKeyId(sealed);
    report.logger.error('policy secret cannot be decrypted; its action is skipped', {
      policy_id: where.policyId,
      secret: where.what,
      id: where.id,
      key_id: keyId ?? 'v1',
    });
    report.onUnreadable?.();
    throw new UnreadableSecretError(where.policyId, where.what, where.id, keyId, { cause: err });
  }
}

/** Every secret of the given policies: which the keyring cannot open, and which are not under the current key. */
export function policySecretsReport(
  policies: {
    policy_id: string;
    providers: { id: string; token: string }[];
    journeys: { webhooks: { url: string; secret: string }[] }[];
  }[],
  keyring: Keyring,
) {
  const unreadable: { policy_id: string; secret: 'provider' | 'webhook'; id: string; key_id: string }[] = [];
  const stale: { policy_id: string; secret: 'provider' | 'webhook'; id: string; key_id: string }[] = [];
  let total = 0;
  const check = (policyId: string, what: 'provider' | 'webhook', id: string, sealed: string) => {
    total++;
    const keyId = sealedKeyId(sealed) ?? 'v1';
    try {
      unseal(sealed, keyring, sealAad(policyId, what, id));
      if (keyId !== keyring.current) stale.push({ policy_id: policyId, secret: what, id, key_id: keyId });
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      unreadable.push({ policy_id: policyId, secret: what, id, key_id: keyId });
    }
  };
  for (const p of policies) {
    for (const pr of p.providers) check(p.policy_id, 'provider', pr.id, pr.token);
    for (const w of p.journeys.flatMap((j) => j.webhooks)) check(p.policy_id, 'webhook', w.url, w.secret);
  }
  return { total, current_key: keyring.current, keys: [...keyring.keys.keys()], unreadable, to_reseal: stale };
}
