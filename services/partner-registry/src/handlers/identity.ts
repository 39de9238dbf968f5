import {
  CreateApiKeyBody,
  CreateOAuthClientBody,
  IDENTITY_RPC,
  mintApiKey,
  mintClientSecret,
  PageQuerySchema,
  type Principal,
  RecordKeyUsageBody,
  RevokeBody,
  RotateApiKeyBody,
  type RpcRequest,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, newId, parseOrThrow } from '@pep/runtime';
import { assertVisible, handler, isAdmin, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { metaFrom } from '../app/command-bus.ts';
import { type ApiKeyState, toApiKey } from '../domain/api-key/api-key.ts';
import { type ApiKeyCommand, decideApiKey } from '../domain/api-key/decide.ts';
import { decideOAuthClient, type OAuthClientCommand } from '../domain/oauth-client/decide.ts';
import { type OAuthClientState, toOAuthClient } from '../domain/oauth-client/oauth-client.ts';
import { findApiKey, listApiKeys } from '../projections/identity-api-keys/index.ts';
import { findOAuthClient, listOAuthClients } from '../projections/identity-oauth-clients/index.ts';
import { createApplicationOwners } from '../app/application-owners.ts';
import type { HandlerDeps } from './deps.ts';
import { apiKeyAggregate } from '../domain/api-key/aggregate.ts';
import { oauthClientAggregate } from '../domain/oauth-client/aggregate.ts';
import { partnerAggregate } from '../domain/partner/aggregate.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const granterScopes = (p: Principal): readonly string[] | 'all' => (isAdmin(p) ? 'all' : p.scopes);

/**
 * API keys and OAuth clients. Secrets are minted here, returned in the one reply that creates them, and
 * only their hashes go into the commands and events.
 */
export function identityHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  const loadApplication = createApplicationOwners(deps.bus);

  const runKey = async (req: RpcRequest<unknown, unknown, unknown>, id: string, partnerId: string, command: ApiKeyCommand) => {
    const r = await deps.commands.execute(apiKeyAggregate, id, metaFrom(req, partnerId), (s) => decideApiKey(command, s));
    if (!r.state) throw new NotFoundError(`api key ${id} not found`);
    return r.state;
  };

  /** A key the caller may see (404 otherwise, never 403), from the aggregate itself (fresh for commands). */
  const visibleKey = async (principal: Principal, id: string): Promise<ApiKeyState> => {
    const snap = await deps.commands.load(apiKeyAggregate, id);
    if (!snap.state) throw new NotFoundError(`api key ${id} not found`);
    assertVisible(principal, snap.state.partner_id, `api key ${id}`);
    return snap.state;
  };

  const visibleClient = async (principal: Principal, id: string): Promise<OAuthClientState> => {
    const snap = await deps.commands.load(oauthClientAggregate, id);
    if (!snap.state) throw new NotFoundError(`oauth client ${id} not found`);
    assertVisible(principal, snap.state.partner_id, `oauth client ${id}`);
    return snap.state;
  };

  return {
    'api-keys.create': h(async (req) => {
      const { id: partnerId } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, partnerId, `partner ${partnerId}`);
      const body = parseOrThrow(CreateApiKeyBody, req.body);
      const partner = (await deps.commands.load(partnerAggregate, partnerId)).state;
      const now = deps.now();
      const keyId = newId('key', now.getTime());
      const minted = mintApiKey(body.environment);
      const state = await runKey(req, keyId, partnerId, {
        type: 'CreateApiKey',
        data: {
          api_key_id: keyId,
          partner_id: partnerId,
          name: body.name,
          environment: body.environment,
          prefix: minted.prefix,
          hash: minted.hash,
          scopes: body.scopes,
          expires_at: body.expires_at ? new Date(body.expires_at).toISOString() : null,
          rate_limit_per_minute: body.rate_limit_per_minute ?? null,
          created_by: req.principal.credential_id,
        },
        partner_status: partner?.status,
        granter_scopes: granterScopes(req.principal),
        now,
      });
      return ok({ ...toApiKey(state, now), key: minted.key }, 201);
    }),

    'api-keys.list': h(async (req) => {
      const { id: partnerId } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, partnerId, `partner ${partnerId}`);
      const q = parseOrThrow(PageQuerySchema, req.query ?? {});
      if (isAdmin(req.principal) && !(await deps.commands.load(partnerAggregate, partnerId)).state) {
        throw new NotFoundError(`partner ${partnerId} not found`);
      }
      const page = await listApiKeys(deps.db, { partner_id: partnerId, ...q });
      const now = deps.now();
      return ok({ data: page.data.map((k) => toApiKey(k, now)), has_more: page.has_more });
    }),

    'api-keys.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const key = await findApiKey(deps.db, id);
      if (!key) throw new NotFoundError(`api key ${id} not found`);
      assertVisible(req.principal, key.partner_id, `api key ${id}`);
      return ok(toApiKey(key, deps.now()));
    }),

    'api-keys.rotate': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const key = await visibleKey(req.principal, id);
      const body = parseOrThrow(RotateApiKeyBody, req.body ?? {});
      const now = deps.now();
      const minted = mintApiKey(key.environment);
      const state = await runKey(req, id, key.partner_id, {
        type: 'RotateApiKey',
        data: { prefix: minted.prefix, hash: minted.hash, overlap_hours: body.overlap_hours },
        now,
      });
      return ok({ ...toApiKey(state, now), key: minted.key });
    }),

    'api-keys.revoke': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const key = await visibleKey(req.principal, id);
      const body = parseOrThrow(RevokeBody, req.body ?? {});
      const state = await runKey(req, id, key.partner_id, { type: 'RevokeApiKey', data: { reason: body.reason ?? null } });
      return ok(toApiKey(state, deps.now()));
    }),

    [IDENTITY_RPC.recordKeyUsage]: h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only the gateway records key usage');
      const { entries } = parseOrThrow(RecordKeyUsageBody, req.body);
      let recorded = 0;
      for (const entry of entries) {
        const r = await deps.commands.execute(apiKeyAggregate, entry.api_key_id, metaFrom(req, undefined), (s) =>
          decideApiKey({ type: 'RecordApiKeyUse', data: { used_at: new Date(entry.used_at).toISOString() } }, s),
        );
        recorded += r.events.length;
      }
      return ok({ recorded });
    }),

    'oauth-clients.create': h(async (req) => {
      const { id: applicationId } = parseOrThrow(IdParams, req.params);
      const app = await loadApplication(applicationId);
      if (!app) throw new NotFoundError(`application ${applicationId} not found`);
      assertVisible(req.principal, app.partner_id, `application ${applicationId}`);
      const body = parseOrThrow(CreateOAuthClientBody, req.body);
      const clientId = newId('cli', deps.now().getTime());
      const secret = body.type === 'confidential' ? mintClientSecret() : null;
      const command: OAuthClientCommand = {
        type: 'CreateOAuthClient',
        data: {
          client_id: clientId,
          application_id: applicationId,
          partner_id: app.partner_id,
          type: body.type,
          redirect_uris: body.redirect_uris,
          scopes: body.scopes,
          secret_hash: secret?.hash ?? null,
          created_by: req.principal.credential_id,
        },
        application_status: app.status,
        granter_scopes: granterScopes(req.principal),
      };
      const r = await deps.commands.execute(oauthClientAggregate, clientId, metaFrom(req, app.partner_id), (s) =>
        decideOAuthClient(command, s),
      );
      if (!r.state) throw new NotFoundError(`oauth client ${clientId} not found`);
      return ok({ ...toOAuthClient(r.state), ...(secret ? { client_secret: secret.secret } : {}) }, 201);
    }),

    'oauth-clients.list': h(async (req) => {
      const { id: applicationId } = parseOrThrow(IdParams, req.params);
      const app = await loadApplication(applicationId);
      if (!app) throw new NotFoundError(`application ${applicationId} not found`);
      assertVisible(req.principal, app.partner_id, `application ${applicationId}`);
      const q = parseOrThrow(PageQuerySchema, req.query ?? {});
      const page = await listOAuthClients(deps.db, { application_id: applicationId, ...q });
      return ok({ data: page.data.map(toOAuthClient), has_more: page.has_more });
    }),

    'oauth-clients.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const client = await findOAuthClient(deps.db, id);
      if (!client) throw new NotFoundError(`oauth client ${id} not found`);
      assertVisible(req.principal, client.partner_id, `oauth client ${id}`);
      return ok(toOAuthClient(client));
    }),

    'oauth-clients.revoke': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const client = await visibleClient(req.principal, id);
      const body = parseOrThrow(RevokeBody, req.body ?? {});
      const r = await deps.commands.execute(oauthClientAggregate, id, metaFrom(req, client.partner_id), (s) =>
        decideOAuthClient({ type: 'RevokeOAuthClient', data: { reason: body.reason ?? null } }, s),
      );
      if (!r.state) throw new NotFoundError(`oauth client ${id} not found`);
      return ok(toOAuthClient(r.state));
    }),

    'oauth-clients.rotate-secret': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const client = await visibleClient(req.principal, id);
      const secret = mintClientSecret();
      const r = await deps.commands.execute(oauthClientAggregate, id, metaFrom(req, client.partner_id), (s) =>
        decideOAuthClient(
          { type: 'RotateOAuthClientSecret', data: { secret_hash: secret.hash, rotated_by: req.principal.credential_id } },
          s,
        ),
      );
      if (!r.state) throw new NotFoundError(`oauth client ${id} not found`);
      return ok({ ...toOAuthClient(r.state), client_secret: secret.secret });
    }),
  };
}
