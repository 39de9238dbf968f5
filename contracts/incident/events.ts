import { z } from 'zod';
import { safeDatetime, safeText, safeUrl } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

/** Incident and customer ids are chosen by the monitor; they become NATS subject tokens, hence the charset. */
export const IncidentIdSchema = safeText()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only (1-64)')
  .describe("The monitor's incident id; the idempotency key of the intake");
export const CustomerIdSchema = safeText()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only (1-64)')
  .describe("The partner's customer whose journey broke");

export const SeveritySchema = z.enum(['critical', 'high', 'medium', 'low']);

export const JourneySchema = z
  .object({
    funnel: safeText().trim().min(1).max(200).describe('Funnel name, e.g. "checkout"'),
    step: safeText().trim().min(1).max(200).describe('Step of the funnel that failed, e.g. "payment"'),
    url: safeUrl().max(2048).describe('URL the monitor was on'),
  })
  .strict();

export const EvidenceSchema = z
  .object({
    screenshot_url: safeUrl().max(2048).optional(),
    error: safeText().max(4000).optional(),
  })
  .strict();

/** A GitHub pull request URL: https://github.com/<owner>/<repo>/pull/<n>. */
export const PullRequestUrlSchema = safeText().regex(
  /^https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/pull\/\d+$/,
  'must be https://github.com/<owner>/<repo>/pull/<number>',
);

export const SuspectsSchema = z
  .object({
    pull_requests: z.array(PullRequestUrlSchema).max(20).default([]),
    flags: z.array(safeText().trim().min(1).max(200)).max(20).default([]),
    deploy_id: safeText().max(200).optional(),
  })
  .strict();

/** What a monitor reports; shared by `POST /v1/incidents` and the `pathcanary.incident.detected` event. */
export const IncidentReportSchema = z
  .object({
    incident_id: IncidentIdSchema,
    customer_id: CustomerIdSchema,
    journey: JourneySchema,
    severity: SeveritySchema,
    detected_at: safeDatetime({ offset: true }),
    evidence: EvidenceSchema.default({}),
    suspects: SuspectsSchema.default({ pull_requests: [], flags: [] }),
  })
  .strict();
export type IncidentReport = z.output<typeof IncidentReportSchema>;

export const IncidentResolutionSchema = z
  .object({
    incident_id: IncidentIdSchema,
    resolved_at: safeDatetime({ offset: true }).optional(),
    reason: safeText().trim().max(1000).optional(),
  })
  .strict();

// External events: monitors may publish them through `POST /v1/events` instead of calling the incident API.
export const PathcanaryIncidentDetected = defineEvent({
  type: 'pathcanary.incident.detected',
  version: 1,
  origin: 'external',
  category: 'pathcanary',
  description: 'A PathCanary monitor found a broken revenue journey (same body as POST /v1/incidents).',
  data: IncidentReportSchema,
});

export const PathcanaryIncidentResolved = defineEvent({
  type: 'pathcanary.incident.resolved',
  version: 1,
  origin: 'external',
  category: 'pathcanary',
  description: 'The monitor sees the journey healthy again (same as POST /v1/incidents/{id}/resolve).',
  data: IncidentResolutionSchema,
});

const incident = { origin: 'domain', aggregate: 'incident', category: 'incident' } as const;

export const IncidentOpened = defineEvent({
  ...incident,
  type: 'incident.opened',
  version: 1,
  description: 'The platform accepted an incident; the rollback is planned next. Published with the partner id for webhooks.',
  data: z.object({
    incident_id: IncidentIdSchema,
    partner_id: safeText(),
    customer_id: CustomerIdSchema,
    journey: JourneySchema,
    severity: SeveritySchema,
    detected_at: safeText(),
    evidence: EvidenceSchema,
    suspects: SuspectsSchema,
    source: z.enum(['api', 'event']),
    opened_at: safeText(),
  }),
});

export const IncidentResolved = defineEvent({
  ...incident,
  type: 'incident.resolved',
  version: 1,
  description: 'The incident is over; flags are turned back on where the policy says so.',
  data: z.object({
    incident_id: IncidentIdSchema,
    partner_id: safeText(),
    customer_id: CustomerIdSchema,
    resolved_at: safeText(),
    resolved_by: safeText(),
    reason: safeText().nullable(),
  }),
});

export const incidentEvents = [PathcanaryIncidentDetected, PathcanaryIncidentResolved, IncidentOpened, IncidentResolved] as const;
