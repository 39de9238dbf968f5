import type { RpcRequest } from '@pep/contracts';
import type { RegistryConfig } from '../config.ts';
import { applicationAggregate } from '../domain/application/aggregate.ts';
import { integrationAggregate } from '../domain/integration/aggregate.ts';
import { decideIntegration, type IntegrationCommand } from '../domain/integration/decide.ts';
import type { ProbeResult } from '../domain/integration/health.ts';
import type { IntegrationState } from '../domain/integration/integration.ts';
import { type CommandBus, metaFrom } from './command-bus.ts';

/**
 * Runs one health check of an integration and records it (the scheduler and the on-demand route share it).
 * An integration whose application has no health URL is left unchecked.
 */
export function createIntegrationChecker(commands: CommandBus, config: RegistryConfig, now: () => Date) {
  return async (
    integrationId: string,
    probe: (url: string) => Promise<ProbeResult>,
    req?: RpcRequest<unknown, unknown, unknown>,
  ): Promise<IntegrationState | undefined> => {
    const integration = (await commands.load(integrationAggregate, integrationId)).state;
    if (integration?.status !== 'connected') return integration;
    const app = (await commands.load(applicationAggregate, integration.application_id)).state;
    if (!app?.health_url) return integration;
    const result = await probe(app.health_url);
    const command: IntegrationCommand = {
      type: 'RecordHealthCheck',
      data: { integration_id: integrationId, probe: result, checked_at: now() },
      thresholds: { degradedLatencyMs: config.INTEGRATION_DEGRADED_LATENCY_MS },
    };
    const meta = req ? metaFrom(req, integration.partner_id) : { partnerId: integration.partner_id };
    return (await commands.execute(integrationAggregate, integrationId, meta, (s) => decideIntegration(command, s))).state;
  };
}
