import { IncidentReportSchema, IncidentResolutionSchema, type StoredEvent } from '@pep/contracts';
import { aggregateFilter, type EventBus, pgDeadLetters, startWorker, type Worker } from '@pep/events';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';
import type { IncidentOpenedData, IncidentResolvedData } from '../domain/incident/incident.ts';
import { incidentKey } from '../domain/keys.ts';
import type { TerminalData } from '../domain/rollback-run/rollback-run.ts';
import { policyForCustomer } from '../projections/policies/index.ts';
import { ActionBusyError, type Executor } from './executor.ts';
import type { IncidentUseCases } from './incidents.ts';
import type { Notifier } from './notifier.ts';

export const SERVICE = 'rollback-orchestrator';

/**
 * The saga's event-driven steps, each a durable consumer shared by every replica:
 * - runs: `rollback.planned` / `rollback.approved` → execute the actions; terminal events → email the outcome;
 * - incidents: `incident.opened` → email; `incident.resolved` → turn flags back on, email;
 * - intake: `pathcanary.incident.detected|resolved` that came through `POST /v1/events` → the same use cases.
 */
export async function startReactions(deps: {
  bus: EventBus;
  db: Kysely<OrchestratorDB>;
  logger: Logger;
  executor: Executor;
  incidents: IncidentUseCases;
  notifier: Notifier;
  concurrency: number;
  ackWaitMs: number;
}): Promise<Worker[]> {
  const { bus, logger } = deps;
  const deadLetters = pgDeadLetters(deps.db);
  const prefix = bus.prefix;

  /** Keeps a long handler's message from being redelivered while it still works on it (msg.working()). */
  const heartbeat =
    (fn: (event: StoredEvent) => Promise<void>) =>
    async (event: StoredEvent, msg: JsMsg): Promise<void> => {
      const timer = setInterval(() => msg.working(), Math.max(200, Math.floor(deps.ackWaitMs / 3)));
      try {
        await fn(event);
      } finally {
        clearInterval(timer);
      }
    };
  const emailsOf = async (partnerId: string, customerId: string) =>
    (await policyForCustomer(deps.db, partnerId, customerId))?.policy.notify_emails ?? [];

  // What both durable consumers share: bounded concurrency, backoff before redelivery, dead letters.
  const workerOptions = {
    concurrency: deps.concurrency,
    ackWaitMs: deps.ackWaitMs,
    backoffMs: [500, 2000, 5000, 15_000],
    deadLetters,
    logger,
  };

  const runs = await startWorker({
    bus,
    durable: `${SERVICE}-runs`,
    filterSubject: aggregateFilter(prefix, 'rollback'),
    ...workerOptions,
    handle: heartbeat(async (event: StoredEvent) => {
      const d = event.data as { partner_id: string; incident_id: string; customer_id: string };
      if (event.type === 'rollback.planned' || event.type === 'rollback.approved') {
        // The intake's fast path may be executing this run right now: wait for it rather than fail the message.
        for (let attempt = 1; ; attempt++) {
          try {
            await deps.executor.executeRun(incidentKey(d.partner_id, d.incident_id));
            break;
          } catch (err) {
            if (!(err instanceof ActionBusyError) || attempt >= 100) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      } else if (event.type === 'rollback.completed' || event.type === 'rollback.partially_failed' || event.type === 'rollback.failed') {
        const t = event.data as TerminalData;
        const outcome = event.type.slice('rollback.'.length).replace('_', ' ');
        const lines = t.actions.map((a) => `- ${a.kind} ${a.action_id}: ${a.status} (${a.detail})`);
        await deps.notifier.send(
          event.id,
          event.type,
          await emailsOf(t.partner_id, t.customer_id),
          `[PathCanary] Rollback ${outcome} for incident ${t.incident_id}`,
          `The rollback of incident ${t.incident_id} (customer ${t.customer_id}) ${outcome}${t.dry_run ? ' (dry run)' : ''}: ${t.succeeded} succeeded, ${t.failed} failed.\n\n${lines.join('\n')}\n`,
        );
      }
    }),
  });

  const incidents = await startWorker({
    bus,
    durable: `${SERVICE}-incidents`,
    filterSubject: aggregateFilter(prefix, 'incident'),
    ...workerOptions,
    handle: heartbeat(async (event: StoredEvent) => {
      if (event.type === 'incident.opened') {
        const d = event.data as IncidentOpenedData;
        await deps.notifier.send(
          event.id,
          event.type,
          await emailsOf(d.partner_id, d.customer_id),
          `[PathCanary] ${d.severity} incident ${d.incident_id} on ${d.journey.funnel}/${d.journey.step}`,
          `Customer ${d.customer_id}: the ${d.journey.funnel} journey broke at step ${d.journey.step} (${d.journey.url}), detected ${d.detected_at}.\n` +
            `${d.evidence.error ? `Error: ${d.evidence.error}\n` : ''}${d.evidence.screenshot_url ? `Screenshot: ${d.evidence.screenshot_url}\n` : ''}`,
        );
      } else if (event.type === 'incident.resolved') {
        const d = event.data as IncidentResolvedData;
        const r = await deps.executor.restoreRun(incidentKey(d.partner_id, d.incident_id));
        if (r === 'wait') throw new Error(`run of ${d.incident_id} still executing; restore after it`);
        await deps.notifier.send(
          event.id,
          event.type,
          await emailsOf(d.partner_id, d.customer_id),
          `[PathCanary] Incident ${d.incident_id} resolved`,
          `Incident ${d.incident_id} of customer ${d.customer_id} was resolved at ${d.resolved_at} by ${d.resolved_by}${d.reason ? `: ${d.reason}` : ''}.\n` +
            `${r === 'restored' ? 'The flags the rollback turned off were turned back on.\n' : ''}`,
        );
      }
    }),
  });

  const intake = await startWorker({
    bus,
    durable: `${SERVICE}-intake`,
    filterSubject: `${prefix}.ext.*.pathcanary.>`,
    concurrency: deps.concurrency,
    ackWaitMs: deps.ackWaitMs,
    deadLetters,
    logger,
    handle: heartbeat(async (event: StoredEvent) => {
      if (!event.partnerid) {
        logger.warn('pathcanary event without a partner id ignored', { id: event.id, type: event.type });
        return;
      }
      if (event.type === 'pathcanary.incident.detected') {
        const report = IncidentReportSchema.parse(event.data);
        await deps.incidents.open({
          partnerId: event.partnerid,
          report,
          source: 'event',
          causationId: event.id,
          ...(event.traceparent ? { traceparent: event.traceparent } : {}),
        });
      } else if (event.type === 'pathcanary.incident.resolved') {
        const r = IncidentResolutionSchema.parse(event.data);
        await deps.incidents.resolve({
          partnerId: event.partnerid,
          incidentId: r.incident_id,
          ...(r.resolved_at ? { resolvedAt: r.resolved_at } : {}),
          ...(r.reason ? { reason: r.reason } : {}),
          resolvedBy: 'monitor (pathcanary.incident.resolved)',
        });
      }
    }),
  });
  return [runs, incidents, intake];
}
