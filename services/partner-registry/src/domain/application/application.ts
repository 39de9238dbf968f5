import type {
  Application,
  ApplicationApproved,
  ApplicationChangesRequested,
  ApplicationCreated,
  ApplicationDeprecated,
  ApplicationPublished,
  ApplicationRejected,
  ApplicationRetired,
  ApplicationReviewStarted,
  ApplicationSubmitted,
  ApplicationUpdated,
  DataOf,
  PlatformEvent,
} from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** The application aggregate is the application as the API shows it (validation results and notes included). */
export type ApplicationState = Application;

export type ApplicationEvent =
  | { type: 'application.created'; data: DataOf<typeof ApplicationCreated> }
  | { type: 'application.updated'; data: DataOf<typeof ApplicationUpdated> }
  | { type: 'application.submitted'; data: DataOf<typeof ApplicationSubmitted> }
  | { type: 'application.review_started'; data: DataOf<typeof ApplicationReviewStarted> }
  | { type: 'application.approved'; data: DataOf<typeof ApplicationApproved> }
  | { type: 'application.changes_requested'; data: DataOf<typeof ApplicationChangesRequested> }
  | { type: 'application.rejected'; data: DataOf<typeof ApplicationRejected> }
  | { type: 'application.published'; data: DataOf<typeof ApplicationPublished> }
  | { type: 'application.deprecated'; data: DataOf<typeof ApplicationDeprecated> }
  | { type: 'application.retired'; data: DataOf<typeof ApplicationRetired> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isApplicationEvent = eventsOfTypes<ApplicationEvent>([
  'application.created',
  'application.updated',
  'application.submitted',
  'application.review_started',
  'application.approved',
  'application.changes_requested',
  'application.rejected',
  'application.published',
  'application.deprecated',
  'application.retired',
]);

export const initialApplication = (): ApplicationState | undefined => undefined;

/** Folds one stored event into the application; `seq` becomes `version`, the event time `updated_at`. */
export function evolveApplication(
  state: ApplicationState | undefined,
  event: PlatformEvent & { seq?: number },
): ApplicationState | undefined {
  if (!isApplicationEvent(event)) return state;
  const e = event;
  const stamp = { version: event.seq ?? state?.version ?? 0, updated_at: event.time };
  if (e.type === 'application.created') {
    if (state) return state;
    const { application_id, ...rest } = e.data;
    return {
      id: application_id,
      object: 'application',
      ...rest,
      validation: null,
      review_notes: [],
      published_at: null,
      created_at: event.time,
      ...stamp,
    };
  }
  if (!state) return state;
  const note = (action: string, reviewer: string, text: string | null) => [
    ...state.review_notes,
    { action, reviewer, note: text, at: event.time },
  ];
  switch (e.type) {
    case 'application.updated': {
      const { application_id: _a, partner_id: _p, ...changes } = e.data;
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      return { ...state, ...defined, ...stamp };
    }
    case 'application.submitted':
      return { ...state, status: 'submitted', validation: e.data.validation, ...stamp };
    case 'application.review_started':
      return { ...state, status: 'in_review', review_notes: note('review_started', e.data.reviewer, e.data.note), ...stamp };
    case 'application.approved':
      return { ...state, status: 'approved', review_notes: note('approved', e.data.reviewer, e.data.note), ...stamp };
    case 'application.changes_requested':
      return { ...state, status: 'changes_requested', review_notes: note('changes_requested', e.data.reviewer, e.data.note), ...stamp };
    case 'application.rejected':
      return { ...state, status: 'rejected', review_notes: note('rejected', e.data.reviewer, e.data.note), ...stamp };
    case 'application.published':
      return { ...state, status: 'published', published_at: e.data.published_at, ...stamp };
    case 'application.deprecated':
      return { ...state, status: 'deprecated', ...stamp };
    case 'application.retired':
      return { ...state, status: 'retired', ...stamp };
    default: {
      const never: never = e;
      return never;
    }
  }
}
