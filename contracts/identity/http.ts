import { z } from 'zod';
import { safeDatetime, safeText, safeUrl } from '../common/text.ts';
import { idParams } from '../common/ids.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { API_KEY_ENVIRONMENTS } from './credential-format.ts';
import { OAuthClientTypeSchema } from './events.ts';
import { ScopesSchema } from './scopes.ts';

export const ApiKeyStatusSchema = z.enum(['active', 'expired', 'revoked']);

export const ApiKeySchema = z
  .object({
    id: safeText(),
    object: z.literal('api_key'),
    partner_id: safeText(),
    name: safeText(),
    environment: z.enum(API_KEY_ENVIRONMENTS),
    prefix: safeText().describe('Visible start of the key, to recognise it in lists'),
    scopes: z.array(safeText()),
    status: ApiKeyStatusSchema,
    expires_at: safeText().nullable(),
    rate_limit_per_minute: z.number().int().nullable(),
    previous_secret_valid_until: safeText().nullable().describe('After a rotation: until when the previous secret still works'),
    last_used_at: safeText().nullable().describe('Recorded in batches; accurate to about a minute'),
    revoked_at: safeText().nullable(),
    created_at: safeText(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.output<typeof ApiKeySchema>;

export const ApiKeyWithSecretSchema = ApiKeySchema.extend({
  key: safeText().describe('The secret key. It is shown this once and cannot be retrieved again.'),
}).meta({ id: 'ApiKeyWithSecret' });
export type ApiKeyWithSecret = z.output<typeof ApiKeyWithSecretSchema>;

export const CreateApiKeyBody = z
  .object({
    name: safeText().trim().min(1).max(200),
    scopes: ScopesSchema,
    expires_at: safeDatetime({ offset: true }).optional().describe('When the key stops working; absent = never'),
    environment: z.enum(API_KEY_ENVIRONMENTS).default('live'),
    rate_limit_per_minute: z.number().int().min(1).max(1_000_000).optional().describe('Cap below the partner tier limit'),
  })
  .strict()
  .meta({ id: 'CreateApiKey' });

export const RotateApiKeyBody = z
  .object({
    overlap_hours: z.number().min(0).max(168).default(24).describe('How long the previous secret stays valid'),
  })
  .strict()
  .meta({ id: 'RotateApiKey' });

export const RevokeBody = z
  .object({ reason: safeText().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'RevokeCredential' });

export const OAuthClientSchema = z
  .object({
    client_id: safeText(),
    object: z.literal('oauth_client'),
    application_id: safeText(),
    partner_id: safeText(),
    type: OAuthClientTypeSchema,
    redirect_uris: z.array(safeText()),
    scopes: z.array(safeText()),
    status: z.enum(['active', 'revoked']),
    created_at: safeText(),
  })
  .meta({ id: 'OAuthClient' });
export type OAuthClient = z.output<typeof OAuthClientSchema>;

export const OAuthClientWithSecretSchema = OAuthClientSchema.extend({
  client_secret: safeText().optional().describe('Confidential clients only; shown this once'),
}).meta({ id: 'OAuthClientWithSecret' });

const RedirectUri = safeUrl().max(2000);

export const CreateOAuthClientBody = z
  .object({
    type: OAuthClientTypeSchema,
    redirect_uris: z.array(RedirectUri).max(20).default([]),
    scopes: ScopesSchema,
  })
  .strict()
  .meta({ id: 'CreateOAuthClient' });

const common = { tag: 'Identity', service: 'partner-registry' } as const;

export const identityRoutes = defineRoutes([
  {
    ...common,
    operationId: 'createApiKey',
    method: 'POST',
    path: '/v1/partners/:id/api-keys',
    summary: 'Issue an API key for a partner (the key is in this response only)',
    pattern: 'api-keys.create',
    scope: 'manage:api_keys',
    params: idParams('prt'),
    body: CreateApiKeyBody,
    success: { status: 201, schema: ApiKeyWithSecretSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'listApiKeys',
    method: 'GET',
    path: '/v1/partners/:id/api-keys',
    summary: "List a partner's API keys (never the secrets)",
    pattern: 'api-keys.list',
    scope: 'read:api_keys',
    params: idParams('prt'),
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(ApiKeySchema) },
  },
  {
    ...common,
    operationId: 'getApiKey',
    method: 'GET',
    path: '/v1/api-keys/:id',
    summary: 'Get an API key (never the secret)',
    pattern: 'api-keys.get',
    scope: 'read:api_keys',
    params: idParams('key'),
    success: { status: 200, schema: ApiKeySchema },
  },
  {
    ...common,
    operationId: 'rotateApiKey',
    method: 'POST',
    path: '/v1/api-keys/:id/rotate',
    summary: 'Replace the secret of a key; the previous one stays valid for the overlap window',
    pattern: 'api-keys.rotate',
    scope: 'manage:api_keys',
    params: idParams('key'),
    body: RotateApiKeyBody.optional(),
    success: { status: 200, schema: ApiKeyWithSecretSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'revokeApiKey',
    method: 'DELETE',
    path: '/v1/api-keys/:id',
    summary: 'Revoke a key; it stops working at the gateway within a second',
    pattern: 'api-keys.revoke',
    scope: 'manage:api_keys',
    params: idParams('key'),
    success: { status: 200, schema: ApiKeySchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'createOAuthClient',
    method: 'POST',
    path: '/v1/applications/:id/oauth-clients',
    summary: 'Register an OAuth 2.0 client for an application (a confidential client gets its secret here only)',
    pattern: 'oauth-clients.create',
    scope: 'manage:oauth_clients',
    params: idParams('app'),
    body: CreateOAuthClientBody,
    success: { status: 201, schema: OAuthClientWithSecretSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'listOAuthClients',
    method: 'GET',
    path: '/v1/applications/:id/oauth-clients',
    summary: "List an application's OAuth clients",
    pattern: 'oauth-clients.list',
    scope: 'read:oauth_clients',
    params: idParams('app'),
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(OAuthClientSchema) },
  },
  {
    ...common,
    operationId: 'getOAuthClient',
    method: 'GET',
    path: '/v1/oauth-clients/:id',
    summary: 'Get an OAuth client',
    pattern: 'oauth-clients.get',
    scope: 'read:oauth_clients',
    params: idParams('cli'),
    success: { status: 200, schema: OAuthClientSchema },
  },
  {
    ...common,
    operationId: 'revokeOAuthClient',
    method: 'DELETE',
    path: '/v1/oauth-clients/:id',
    summary: 'Revoke an OAuth client; its tokens stop working',
    pattern: 'oauth-clients.revoke',
    scope: 'manage:oauth_clients',
    params: idParams('cli'),
    success: { status: 200, schema: OAuthClientSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'rotateOAuthClientSecret',
    method: 'POST',
    path: '/v1/oauth-clients/:id/rotate-secret',
    summary: "Replace a confidential client's secret (the new one is in this response only); the old one stops working at once",
    pattern: 'oauth-clients.rotate-secret',
    scope: 'manage:oauth_clients',
    params: idParams('cli'),
    success: { status: 200, schema: OAuthClientWithSecretSchema },
    errors: [409],
  },
]);

/** Internal (not HTTP) request patterns of the partner-registry used by the gateway. */
export const IDENTITY_RPC = {
  /** Batched last-used times from the gateway: `{ entries: [{ api_key_id, used_at }] }`. */
  recordKeyUsage: 'api-keys.record-usage',
} as const;

export const RecordKeyUsageBody = z.object({
  entries: z.array(z.object({ api_key_id: safeText().min(1).max(64), used_at: safeDatetime({ offset: true }) })).max(10_000),
});
