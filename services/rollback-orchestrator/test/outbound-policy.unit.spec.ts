import { randomBytes } from 'node:crypto';
import { CreateRollbackPolicyBody } from '@pep/contracts';
import { ValidationError } from '@pep/runtime';
import { parseAllowlist } from '@pep/webhooks';
import { describe, expect, it } from 'vitest';
import { createPolicyUseCases } from '../src/app/policies.ts';
import { orchestratorConfigSchema } from '../src/config.ts';

// Where a policy's flag webhook may point: public addresses by default (production), loopback only when the
// allowlist says so (the `npm start` dev stack sets 127.0.0.0/8,::1).
const secretsKey = randomBytes(32).toString('hex');
const body = (baseUrl: string) =>
  CreateRollbackPolicyBody.parse({
    customer_id: 'shop-eu',
    providers: [{ id: 'acme', kind: 'partner_webhook', base_url: baseUrl, token: 'acme-token-123' }],
    journeys: [{ funnel: 'checkout', flags: [{ provider_id: 'acme', flag_key: 'new-pay' }] }],
  });

function useCases(allowlist: string) {
  const executed: string[] = [];
  const aggregates = {
    execute: async (_kind: unknown, id: string) => {
      executed.push(id);
      return { version: 1 };
    },
  };
  const policies = createPolicyUseCases({
    aggregates: aggregates as never,
    secretsKey,
    outbound: { allow: parseAllowlist(allowlist), httpsOnly: false },
  });
  return { policies, executed };
}

describe('rollback policy URLs', () => {
  it('are strict by default: a loopback flag webhook is refused, the address named as an address', async () => {
    const cfg = orchestratorConfigSchema.parse({ ROLLBACK_SECRETS_KEY: secretsKey });
    expect(cfg.OUTBOUND_ALLOWLIST).toBe('');
    const { policies, executed } = useCases(cfg.OUTBOUND_ALLOWLIST);
    for (const [url, shown] of [
      ['http://127.0.0.1:8090', '127.0.0.1'],
      ['http://2130706433:8090', '127.0.0.1'],
      ['http://[::1]:8090', '::1'],
    ] as const) {
      const err = await policies.create('prt_1', body(url)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).errors).toEqual([
        { path: 'providers.0.base_url', message: `address ${shown} is not allowed (loopback)` },
      ]);
    }
    expect(executed).toEqual([]);
  });

  it('admit loopback with the dev stack allowlist', async () => {
    const { policies, executed } = useCases('127.0.0.0/8,::1');
    const view = await policies.create('prt_1', body('http://127.0.0.1:8090'));
    expect(view.providers[0]).toMatchObject({ base_url: 'http://127.0.0.1:8090', token_set: true });
    expect(executed).toHaveLength(1);
    await expect(policies.create('prt_1', body('http://10.0.0.7'))).rejects.toThrow(/address 10\.0\.0\.7 is not allowed \(private\)/);
  });
});
