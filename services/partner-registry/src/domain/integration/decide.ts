import type { ApplicationStatus } from '@pep/contracts';
import { compileMapping, MappingCompileError } from '@pep/mapping';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { combineHealth, type HealthThresholds, type ProbeResult, type RecentTraffic } from './health.ts';
import type { IntegrationEvent, IntegrationState } from './integration.ts';

export type IntegrationCommand =
  | {
      type: 'InstallIntegration';
      data: { integration_id: string; application_id: string; customer_id: string; installed_by: string; scopes: string[] };
      application_status: ApplicationStatus;
      now: Date;
    }
  | { type: 'UninstallIntegration'; data: { integration_id: string; reason: 'uninstalled' | 'revoked' | 'expired' | 'other' }; now: Date }
  | {
      type: 'RecordHealthCheck';
      /** `probe` null: the application has no health URL; `traffic` null: no traffic figures. */
      data: { integration_id: string; probe: ProbeResult | null; traffic?: RecentTraffic | null; checked_at: Date };
      thresholds: HealthThresholds & { minAttempts?: number };
    }
  | { type: 'SetMapping'; data: { integration_id: string; event_type: string; expression: string; set_by: string }; now: Date }
  | { type: 'RemoveMapping'; data: { integration_id: string; event_type: string; removed_by: string }; now: Date };

/**
 * Compiles an expression as the dispatcher will (same bounds, same refusals); a compile error is a 422 on
 * `expression` naming JSONata's code, message and character position. Pure.
 */
export function validateMappingExpression(expression: string): void {
  try {
    compileMapping(expression);
  } catch (err) {
    if (!(err instanceof MappingCompileError)) throw err;
    const at = err.position === null ? '' : ` at position ${err.position}`;
    const problem = new ValidationError([{ path: 'expression', message: `${err.code}: ${err.message}${at}` }]);
    Object.assign(problem.extensions, {
      expression_error: { code: err.code, message: err.message, position: err.position, token: err.token },
    });
    throw problem;
  }
}

function existing(state: IntegrationState | undefined, id: string): IntegrationState {
  if (!state) throw new NotFoundError(`integration ${id} not found`);
  return state;
}

/** Decides an integration command: the events to append, or a DomainError. Pure. */
export function decideIntegration(command: IntegrationCommand, state: IntegrationState | undefined): IntegrationEvent[] {
  switch (command.type) {
    case 'InstallIntegration': {
      if (state) throw new ConflictError(`integration ${command.data.integration_id} already exists`);
      if (command.application_status !== 'published') {
        throw new IllegalTransitionError(`only a published application can be installed (it is ${command.application_status})`, {
          extensions: { application_status: command.application_status },
        });
      }
      const d = command.data;
      return [
        {
          type: 'integration.connected',
          data: {
            integration_id: d.integration_id,
            application_id: d.application_id,
            customer_id: d.customer_id,
            scopes: d.scopes,
            connected_by: d.installed_by,
            connected_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'UninstallIntegration': {
      const s = existing(state, command.data.integration_id);
      if (s.status !== 'connected') throw new IllegalTransitionError(`the integration is already ${s.status}`);
      return [
        {
          type: 'integration.disconnected',
          data: {
            integration_id: s.id,
            application_id: s.application_id,
            customer_id: s.customer_id,
            reason: command.data.reason,
            initiated_by: 'partner',
            disconnected_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'RecordHealthCheck': {
      const s = existing(state, command.data.integration_id);
      if (s.status !== 'connected') throw new IllegalTransitionError('a disconnected integration is not checked');
      const probe = command.data.probe;
      const combined = combineHealth(probe, command.data.traffic ?? null, {
        ...command.thresholds,
        minAttempts: command.thresholds.minAttempts ?? Number.POSITIVE_INFINITY,
      });
      if (!combined) return []; // neither a health URL nor enough traffic: nothing to record
      const { status, error } = combined;
      const at = command.data.checked_at.toISOString();
      const events: IntegrationEvent[] = [
        {
          type: 'integration.health_checked',
          data: {
            integration_id: s.id,
            application_id: s.application_id,
            status,
            previous_status: s.health.status,
            latency_ms: probe ? Math.max(0, Math.round(probe.latency_ms)) : 0,
            http_status: probe && 'http_status' in probe ? probe.http_status : null,
            error,
            checked_at: at,
          },
        },
      ];
      // The business events, once per change: `integration.failed` when the health turns down, `integration.connected`
      // when a down integration comes back.
      if (status === 'down' && s.health.status !== 'down') {
        events.push({
          type: 'integration.failed',
          data: {
            integration_id: s.id,
            application_id: s.application_id,
            customer_id: s.customer_id,
            error_code:
              combined.source === 'traffic'
                ? 'deliveries_failing'
                : probe && 'error' in probe
                  ? /timeout|abort/i.test(probe.error)
                    ? 'timeout'
                    : 'unreachable'
                  : 'health_check_failed',
            error_message: (error ?? '').slice(0, 2000),
            retryable: true,
            attempt: s.health.consecutive_failures + 1,
            failed_at: at,
          },
        });
      } else if (status !== 'down' && s.health.status === 'down') {
        events.push({
          type: 'integration.connected',
          data: { integration_id: s.id, application_id: s.application_id, customer_id: s.customer_id, connected_at: at },
        });
      }
      return events;
    }
    case 'SetMapping': {
      const s = existing(state, command.data.integration_id);
      if (s.status !== 'connected') throw new IllegalTransitionError('a disconnected integration takes no mappings');
      validateMappingExpression(command.data.expression);
      const prior = s.mappings?.[command.data.event_type];
      if (prior?.expression === command.data.expression) return [];
      return [
        {
          type: 'integration.mapping_set',
          data: {
            integration_id: s.id,
            event_type: command.data.event_type,
            version: (prior?.version ?? 0) + 1,
            expression: command.data.expression,
            set_by: command.data.set_by,
            set_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'RemoveMapping': {
      const s = existing(state, command.data.integration_id);
      const prior = s.mappings?.[command.data.event_type];
      if (!prior || prior.expression === null) {
        throw new NotFoundError(`integration ${s.id} has no mapping for ${command.data.event_type}`);
      }
      return [
        {
          type: 'integration.mapping_removed',
          data: {
            integration_id: s.id,
            event_type: command.data.event_type,
            version: prior.version,
            removed_by: command.data.removed_by,
            removed_at: command.now.toISOString(),
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
