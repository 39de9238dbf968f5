import type { IncidentReport } from '@pep/contracts';
import { NotFoundError } from '@pep/runtime';
import type { IncidentEvent, IncidentState } from './incident.ts';

export type IncidentCommand =
  | { type: 'OpenIncident'; partnerId: string; report: IncidentReport; source: 'api' | 'event'; now: Date }
  | {
      type: 'ResolveIncident';
      partnerId: string;
      incidentId: string;
      resolvedAt: string | undefined;
      resolvedBy: string;
      reason: string | undefined;
      now: Date;
    };

/**
 * Pure decider of the incident aggregate. Opening an incident that exists emits nothing (the intake is
 * idempotent on the incident id); resolving twice emits nothing the second time.
 */
export function decideIncident(command: IncidentCommand, state: IncidentState): IncidentEvent[] {
  switch (command.type) {
    case 'OpenIncident': {
      if (state.status !== 'none') return [];
      const r = command.report;
      return [
        {
          type: 'incident.opened',
          data: {
            incident_id: r.incident_id,
            partner_id: command.partnerId,
            customer_id: r.customer_id,
            journey: r.journey,
            severity: r.severity,
            detected_at: r.detected_at,
            evidence: r.evidence,
            suspects: r.suspects,
            source: command.source,
            opened_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'ResolveIncident': {
      if (state.status === 'none' || !state.opened) throw new NotFoundError(`incident ${command.incidentId} not found`);
      if (state.status === 'resolved') return [];
      return [
        {
          type: 'incident.resolved',
          data: {
            incident_id: state.opened.incident_id,
            partner_id: state.opened.partner_id,
            customer_id: state.opened.customer_id,
            resolved_at: command.resolvedAt ?? command.now.toISOString(),
            resolved_by: command.resolvedBy,
            reason: command.reason ?? null,
          },
        },
      ];
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
