import { z } from 'zod';
import { safeDatetime, safeJson, safeText } from '../common/text.ts';
import { PlatformId } from '../common/ids.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { PlannedActionSchema, RollbackModeSchema, RunStatusSchema } from '../rollback/events.ts';
import {
  CustomerIdSchema,
  EvidenceSchema,
  IncidentIdSchema,
  IncidentReportSchema,
  JourneySchema,
  SeveritySchema,
  SuspectsSchema,
} from './events.ts';

/** `:id` of an incident route is the monitor's incident id (a malformed one is 404, like an unknown one). */
const IncidentIdParams = z.object({ id: IncidentIdSchema });

export const CreateIncidentBody = IncidentReportSchema.extend({
  partner_id: PlatformId('prt').optional().describe('Admin credentials name the partner'),
}).meta({ id: 'CreateIncident' });

export const ResolveIncidentBody = z
  .object({
    resolved_at: safeDatetime({ offset: true }).optional(),
    reason: safeText().trim().min(1).max(1000).optional(),
  })
  .strict()
  .meta({ id: 'ResolveIncident' });

export const ApproveRollbackBody = z
  .object({ comment: safeText().trim().max(1000).optional() })
  .strict()
  .meta({ id: 'ApproveRollback' });

export const IncidentAcceptedSchema = z
  .object({
    incident_id: safeText(),
    object: z.literal('incident_acceptance'),
    duplicate: z.boolean().describe('True when the incident id was already known: nothing new was started'),
    status: RunStatusSchema,
    mode: RollbackModeSchema.nullable(),
    policy_id: safeText().nullable(),
    skipped_reason: safeText().nullable(),
    actions: z.array(PlannedActionSchema),
  })
  .meta({ id: 'IncidentAccepted' });

export const ActionStateSchema = PlannedActionSchema.extend({
  phase: z.enum(['rollback', 'restore']),
  status: z.enum(['planned', 'succeeded', 'failed', 'skipped']),
  attempts: z.number().int(),
  detail: safeText().nullable(),
  result: z.record(safeText(), safeJson()).nullable(),
  finished_at: safeText().nullable(),
});

export const TimelineEntrySchema = z.object({
  at: safeText(),
  type: safeText().describe('The event type'),
  actor: safeText().describe('Who did it: the monitor, the orchestrator, an approver, a provider'),
  summary: safeText(),
  details: z.record(safeText(), safeJson()).describe('Request and response excerpts, ids, reasons'),
});

export const IncidentSchema = z
  .object({
    id: safeText(),
    object: z.literal('incident'),
    partner_id: safeText(),
    customer_id: safeText(),
    status: z.enum(['open', 'resolved']),
    severity: SeveritySchema,
    journey: JourneySchema,
    evidence: EvidenceSchema,
    suspects: SuspectsSchema,
    detected_at: safeText(),
    opened_at: safeText(),
    resolved_at: safeText().nullable(),
    rollback: z
      .object({
        status: RunStatusSchema,
        mode: RollbackModeSchema,
        policy_id: safeText().nullable(),
        skipped_reason: safeText().nullable(),
        actions: z.array(ActionStateSchema),
        dropped: z.array(PlannedActionSchema),
        restored_at: safeText().nullable(),
      })
      .nullable(),
    timeline: z.array(TimelineEntrySchema),
  })
  .meta({ id: 'Incident' });

export const incidentRoutes = defineRoutes([
  {
    operationId: 'createIncident',
    method: 'POST',
    path: '/v1/incidents',
    summary: 'Report an incident (idempotent on incident_id; 100 requests/min per customer)',
    tag: 'Incidents',
    service: 'rollback-orchestrator',
    pattern: 'incidents.create',
    scope: 'write:incidents',
    body: CreateIncidentBody,
    success: { status: 202, schema: IncidentAcceptedSchema, description: 'Accepted: the planned actions run asynchronously' },
    errors: [409, 429],
    timeoutMs: 2000,
  },
  {
    operationId: 'listIncidents',
    method: 'GET',
    path: '/v1/incidents',
    summary: 'List incidents, newest first',
    tag: 'Incidents',
    service: 'rollback-orchestrator',
    pattern: 'incidents.list',
    scope: 'read:incidents',
    query: PageQuerySchema.extend({
      customer_id: CustomerIdSchema.optional(),
      status: z.enum(['open', 'resolved']).optional(),
      partner_id: PlatformId('prt').optional(),
    }),
    success: { status: 200, schema: pageOf(IncidentSchema) },
  },
  {
    operationId: 'getIncident',
    method: 'GET',
    path: '/v1/incidents/:id',
    summary: 'An incident with its rollback run, actions and timeline (audit trail)',
    tag: 'Incidents',
    service: 'rollback-orchestrator',
    pattern: 'incidents.get',
    scope: 'read:incidents',
    params: IncidentIdParams,
    success: { status: 200, schema: IncidentSchema },
  },
  {
    operationId: 'resolveIncident',
    method: 'POST',
    path: '/v1/incidents/:id/resolve',
    summary: 'Resolve an incident; flags are turned back on where the policy says so',
    tag: 'Incidents',
    service: 'rollback-orchestrator',
    pattern: 'incidents.resolve',
    scope: 'write:incidents',
    params: IncidentIdParams,
    body: ResolveIncidentBody.optional(),
    success: { status: 202, schema: z.object({ incident_id: safeText(), status: z.literal('resolved'), duplicate: z.boolean() }) },
    errors: [409],
  },
  {
    operationId: 'approveRollback',
    method: 'POST',
    path: '/v1/incidents/:id/approve',
    summary: 'Approve the rollback of an incident whose policy mode is approval',
    tag: 'Incidents',
    service: 'rollback-orchestrator',
    pattern: 'incidents.approve',
    scope: 'write:rollback',
    params: IncidentIdParams,
    body: ApproveRollbackBody.optional(),
    success: { status: 202, schema: IncidentAcceptedSchema },
    errors: [409],
  },
]);

export type Incident = z.output<typeof IncidentSchema>;
export type TimelineEntry = z.output<typeof TimelineEntrySchema>;
