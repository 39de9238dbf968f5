import type { Principal, RpcRequest } from '@pep/contracts';
import { newId, ValidationError } from '@pep/runtime';
import {
  assertPublicUrl,
  decryptSecret,
  encryptSecret,
  generateSecret,
  type Keyring,
  SecretBoxError,
  type SsrfPolicy,
  UnsafeUrlError,
} from '@pep/webhooks';
import { ConflictError } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import type { EndpointSettings } from '../domain/webhook-endpoint/decide.ts';
import { previousInGrace } from '../domain/webhook-endpoint/secrets.ts';
import { type EndpointRow, findEndpoint, listEndpoints } from '../projections/endpoints/index.ts';
import { findIntegrationOwner } from '../projections/integration-mappings/index.ts';
import type { EndpointCommandOrigin, EndpointCommands } from './endpoints.ts';
import { partnerScope, visible } from './ownership.ts';

export interface EndpointAdminDeps {
  db: Kysely<DispatcherDB>;
  commands: EndpointCommands;
  secretKey: Keyring;
  ssrf: SsrfPolicy;
  defaultTimeoutMs: number;
  secretGraceMs: number;
  now: () => Date;
}

/** The command's origin from the request: tenant scope, trace, request id. */
export const originOf = (req: Pick<RpcRequest, 'principal' | 'traceparent' | 'request_id'>): EndpointCommandOrigin => ({
  partnerScope: partnerScope(req.principal),
  traceparent: req.traceparent,
  correlationId: req.request_id,
});

export type EndpointAdmin = ReturnType<typeof endpointAdmin>;

/** Use cases of endpoint management: create, change, delete, read and rotate signing secrets. */
export function endpointAdmin(d: EndpointAdminDeps) {
  const checkUrl = async (url: string) => {
    try {
      await assertPublicUrl(url, d.ssrf);
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new ValidationError([{ path: 'url', message: `refused: ${err.message}` }]);
      throw err;
    }
  };
  /** An endpoint may name only a connected integration of its own partner (as the dispatcher's read model knows it). */
  const checkIntegration = async (integrationId: string | null | undefined, partnerId: string) => {
    if (!integrationId) return;
    const owner = await findIntegrationOwner(d.db, integrationId);
    if (!owner || owner.partner_id !== partnerId || !owner.connected) {
      throw new ValidationError([
        { path: 'integration_id', message: `integration ${integrationId} is not a connected integration of partner ${partnerId}` },
      ]);
    }
  };
  const decrypt = (sealed: string, id: string) => decryptSecret(sealed, d.secretKey, id);

  /** The signing secret and, during its grace period, the previous one. */
  const secretsOf = (sealed: string, prevSealed: string | null, prevExpires: Date | null, id: string) => {
    let secret: string;
    try {
      secret = decrypt(sealed, id);
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      throw new ConflictError(
        `the endpoint's signing secret cannot be decrypted with the configured keys (${err.message}); rotate the secret`,
        { extensions: { key_id: err.keyId ?? null }, cause: err },
      );
    }
    // A previous secret that cannot be read any more (its key is gone) is simply not shown: it only served the grace period.
    let previous: string | null = null;
    if (previousInGrace(prevSealed, prevExpires, d.now()) && prevSealed) {
      try {
        previous = decrypt(prevSealed, id);
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
      }
    }
    return {
      secret,
      previous_secret: previous,
      previous_expires_at: previous && prevExpires ? prevExpires.toISOString() : null,
    };
  };

  return {
    list: (q: Parameters<typeof listEndpoints>[1]) => listEndpoints(d.db, q),

    async owned(id: string, principal: Principal): Promise<EndpointRow> {
      return visible(await findEndpoint(d.db, id), principal, 'webhook endpoint');
    },

    async create(
      partnerId: string,
      settings: Omit<EndpointSettings, 'timeout_ms'> & { timeout_ms?: number | undefined },
      origin: EndpointCommandOrigin,
    ) {
      await checkUrl(settings.url);
      await checkIntegration(settings.integration_id, partnerId);
      const id = newId('wep', d.now().getTime());
      const secret = generateSecret();
      const r = await d.commands.execute(
        id,
        {
          kind: 'CreateEndpoint',
          endpoint_id: id,
          partner_id: partnerId,
          secret_sealed: encryptSecret(secret, d.secretKey, id),
          settings: { ...settings, timeout_ms: settings.timeout_ms ?? d.defaultTimeoutMs },
        },
        { ...origin, partnerScope: undefined },
      );
      return { ...r, secret };
    },

    async update(current: EndpointRow, changes: Partial<EndpointSettings>, enabled: boolean | undefined, origin: EndpointCommandOrigin) {
      if (changes.url) await checkUrl(changes.url);
      await checkIntegration(changes.integration_id, current.partner_id);
      return d.commands.execute(current.id, { kind: 'UpdateEndpoint', changes, ...(enabled === undefined ? {} : { enabled }) }, origin);
    },

    async remove(current: EndpointRow, origin: EndpointCommandOrigin) {
      await d.commands.execute(current.id, { kind: 'DeleteEndpoint' }, origin);
    },

    secrets: (e: EndpointRow) => secretsOf(e.secret_sealed, e.previous_secret_sealed, e.previous_expires_at, e.id),

    async rotate(e: EndpointRow, origin: EndpointCommandOrigin) {
      const secret = generateSecret();
      const { state } = await d.commands.execute(
        e.id,
        { kind: 'RotateSecret', secret_sealed: encryptSecret(secret, d.secretKey, e.id), now: d.now(), grace_ms: d.secretGraceMs },
        origin,
      );
      return secretsOf(
        state.secret_sealed,
        state.previous_secret_sealed,
        state.previous_expires_at ? new Date(state.previous_expires_at) : null,
        e.id,
      );
    },
  };
}
