import type { AggregateKind } from '@pep/events';
import { API_KEYS_PROJECTION } from '../../projections/identity-api-keys/table.ts';
import { evolveApiKey, initialApiKey, type ApiKeyState } from './api-key.ts';

/** An API key (hashes only), as the command bus loads and appends it (`<prefix>.agg.api_key.<id>`); commands wait for its read model. */
export const apiKeyAggregate: AggregateKind<ApiKeyState | undefined> = {
  kind: 'api_key',
  initial: initialApiKey,
  evolve: evolveApiKey,
  projection: API_KEYS_PROJECTION,
};
