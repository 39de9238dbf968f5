import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { code, id, note, timestamp } from './common.ts';

/**
 * Integration lifecycle: a partner's application connected to (or lost) a customer's account. Kept general on
 * purpose: the same types may later also be appended as domain events by the service tracking integration health.
 */
const common = { origin: 'external', category: 'integration' } as const;

const subject = {
  integration_id: id(),
  application_id: id().optional().describe('The marketplace application the integration belongs to'),
  customer_id: id().optional().describe('The customer account it connects'),
  provider: safeText().min(1).max(128).optional().describe('The external system, e.g. "salesforce"'),
};

export const IntegrationConnected = defineEvent({
  ...common,
  type: 'integration.connected',
  version: 1,
  description: 'An integration was connected (installed and authorized).',
  data: z
    .object({
      ...subject,
      scopes: z.array(safeText().min(1).max(128)).max(100).optional().describe('Permissions granted'),
      connected_by: id().optional(),
      connected_at: timestamp().optional(),
    })
    .strict(),
});

export const IntegrationDisconnected = defineEvent({
  ...common,
  type: 'integration.disconnected',
  version: 1,
  description: 'An integration was disconnected (uninstalled, revoked or expired).',
  data: z
    .object({
      ...subject,
      reason: z.enum(['uninstalled', 'revoked', 'expired', 'failed', 'other']).optional(),
      initiated_by: z.enum(['customer', 'partner', 'platform']).optional(),
      disconnected_at: timestamp().optional(),
    })
    .strict(),
});

export const IntegrationFailed = defineEvent({
  ...common,
  type: 'integration.failed',
  version: 1,
  description: 'An integration failed to sync or call its provider.',
  data: z
    .object({
      ...subject,
      error_code: code().describe('e.g. "auth_expired", "rate_limited", "timeout"'),
      error_message: note().optional(),
      retryable: z.boolean().optional(),
      attempt: z.number().int().min(1).optional(),
      failed_at: timestamp().optional(),
    })
    .strict(),
});

export const integrationEvents = [IntegrationConnected, IntegrationDisconnected, IntegrationFailed] as const;
