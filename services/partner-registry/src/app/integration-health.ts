import type { RpcRequest } from '@pep/contracts';
import type { RegistryConfig } from '../config.ts';
import { applicationAggregate } from '../domain/application/aggregate.ts';
import { integrationAggregate } from '../domain/integration/aggregate.ts';
import { decideIntegration, type IntegrationCommand } from '../domain/integration/decide.ts';
import type { ProbeResult } from '../domain/integration/health.ts';
import type { IntegrationState } from '../domain/integration/integration.ts';
import { type CommandBus, metaFrom } from './command-bus.ts';

/**
 * Runs one health check of an integration and records it (the scheduler and the on-demand route share it), with
 * the webhook traffic of the last INTEGRATION_TRAFFIC_WINDOW_MS: endpoints that failed every delivery make it
 * unhealthy even if its health URL answers. Without a health URL the traffic alone decides; with neither it is
 * left unchecked.
 */
export function createIntegrationChecker(
  commands: CommandBus,
  config: RegistryConfig,
  now: () => Date,
  /** Webhook attempts to the integration's endpoints since a time (the traffic read model); absent: checks alone. */
  recent?: (integrationId: string, since: Date) => Promise<{ attempts: number; succeeded: number }>,
) {
  return async (
    integrationId: string,
    probe: (url: string) => Promise<ProbeResult>,
    req?: RpcRequest<unknown, unknown, unknown>,
  ): Promise<IntegrationState | undefined> => {
    const integration = (await commands.load(integrationAggregate, integrationId)).state;
    if (integration?.status !== 'connected') return integration;
    const app = (await commands.load(applicationAggregate, integration.application_id)).state;
    const at = now();
    const traffic = recent
      ? {
          ...(await recent(integrationId, new Date(at.getTime() - config.INTEGRATION_TRAFFIC_WINDOW_MS))),
          window_ms: config.INTEGRATION_TRAFFIC_WINDOW_MS,
        }
      : null;
    if (!app?.health_url && !traffic) return integration;
    const result = app?.health_url ? await probe(app.health_url) : null;
    const command: IntegrationCommand = {
      type: 'RecordHealthCheck',
      data: { integration_id: integrationId, probe: result, traffic, checked_at: at },
      thresholds: { degradedLatencyMs: config.INTEGRATION_DEGRADED_LATENCY_MS, minAttempts: config.INTEGRATION_TRAFFIC_MIN_ATTEMPTS },
    };
    const meta = req ? metaFrom(req, integration.partner_id) : { partnerId: integration.partner_id };
    return (await commands.execute(integrationAggregate, integrationId, meta, (s) => decideIntegration(command, s))).state;
  };
}
