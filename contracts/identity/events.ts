import { z } from 'zod';
import { safeDatetime, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { API_KEY_ENVIRONMENTS } from './credential-format.ts';
import { ScopeSchema } from './scopes.ts';

/**
 * Events of the identity context. The partner-registry owns both aggregates (`api_key`, `oauth_client`);
 * the gateway projects them (with partner events) into its own authentication state. Secrets never appear
 * in an event: only their SHA-256 and a display prefix do.
 */
const Sha256Hex = safeText().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest');
const Timestamp = safeDatetime({ offset: true });

const apiKey = { origin: 'domain', aggregate: 'api_key', category: 'identity' } as const;

export const ApiKeyCreated = defineEvent({
  ...apiKey,
  type: 'api_key.created',
  version: 1,
  description: 'An API key was issued to a partner; the key itself was shown once to the caller and is not kept.',
  data: z.object({
    api_key_id: safeText(),
    partner_id: safeText(),
    name: safeText(),
    environment: z.enum(API_KEY_ENVIRONMENTS),
    prefix: safeText().describe('Display prefix, e.g. pk_live_Ab12Cd'),
    hash: Sha256Hex,
    scopes: z.array(ScopeSchema),
    expires_at: Timestamp.nullable(),
    rate_limit_per_minute: z.number().int().positive().nullable(),
    created_by: safeText().describe('Credential id of the caller'),
  }),
});

export const ApiKeyRotated = defineEvent({
  ...apiKey,
  type: 'api_key.rotated',
  version: 1,
  description: "A new secret replaced the key's current one; the previous secret stays valid until `previous_valid_until`.",
  data: z.object({
    api_key_id: safeText(),
    partner_id: safeText(),
    prefix: safeText(),
    hash: Sha256Hex,
    previous_hash: Sha256Hex,
    previous_valid_until: Timestamp,
  }),
});

export const ApiKeyRevoked = defineEvent({
  ...apiKey,
  type: 'api_key.revoked',
  version: 1,
  description: 'The key stops working at once, every secret of it.',
  data: z.object({ api_key_id: safeText(), partner_id: safeText(), reason: safeText().nullable() }),
});

export const ApiKeyUsed = defineEvent({
  ...apiKey,
  type: 'api_key.used',
  version: 1,
  description: 'The gateway saw the key in use (recorded in batches, at most about once a minute per key).',
  data: z.object({ api_key_id: safeText(), partner_id: safeText(), last_used_at: Timestamp }),
});

export const apiKeyEvents = [ApiKeyCreated, ApiKeyRotated, ApiKeyRevoked, ApiKeyUsed] as const;

const oauthClient = { origin: 'domain', aggregate: 'oauth_client', category: 'identity' } as const;

export const OAuthClientTypeSchema = z.enum(['confidential', 'public']);

export const OAuthClientCreated = defineEvent({
  ...oauthClient,
  type: 'oauth_client.created',
  version: 1,
  description: "An OAuth 2.0 client was registered for an application; a confidential client's secret is kept as a hash.",
  data: z.object({
    client_id: safeText(),
    application_id: safeText(),
    partner_id: safeText(),
    type: OAuthClientTypeSchema,
    redirect_uris: z.array(safeText()),
    scopes: z.array(ScopeSchema),
    secret_hash: Sha256Hex.nullable(),
    created_by: safeText(),
  }),
});

export const OAuthClientRevoked = defineEvent({
  ...oauthClient,
  type: 'oauth_client.revoked',
  version: 1,
  description: 'The client can no longer obtain tokens; tokens it holds stop working.',
  data: z.object({ client_id: safeText(), application_id: safeText(), partner_id: safeText(), reason: safeText().nullable() }),
});

export const OAuthClientSecretRotated = defineEvent({
  ...oauthClient,
  type: 'oauth_client.secret_rotated',
  version: 1,
  description: "A confidential client's secret was replaced (kept as a hash); the previous secret stops working at once.",
  data: z.object({
    client_id: safeText(),
    application_id: safeText(),
    partner_id: safeText(),
    secret_hash: Sha256Hex,
    rotated_by: safeText(),
  }),
});

export const oauthClientEvents = [OAuthClientCreated, OAuthClientRevoked, OAuthClientSecretRotated] as const;
