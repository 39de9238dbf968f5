import { getDefinition, type PlatformEvent, type Principal, validateEvent } from '@pep/contracts';
import { externalSubject } from '@pep/events';
import type { FieldError, Problem } from '@pep/runtime';
import { problem, validationProblem } from '../http/http-result.ts';
import { CE_BATCH, CE_STRUCTURED, type IngestMode } from './cloudevents-http.ts';

/** A batch holds at most this many events... */
export const MAX_BATCH_EVENTS = 500;
/** ...and at most this many bytes (the route's body limit adds a little slack for the array's punctuation). */
export const MAX_BATCH_BYTES = 1024 * 1024;
export const EVENTS_BODY_LIMIT = MAX_BATCH_BYTES + 16 * 1024;
/** Field errors listed in one 422 (the rest are counted in `detail`). */
const MAX_REPORTED_ERRORS = 200;
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;
const JSON_UTF8 = /^\s*application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export interface PreparedEvent {
  event: PlatformEvent;
  subject: string;
  /** `Nats-Msg-Id`: the event id scoped by tenant, so two partners' ids never collide. */
  dedupeKey: string;
}

export type PrepareResult = { ok: true; events: PreparedEvent[] } | { ok: false; problem: Problem };

export interface PrepareOptions {
  principal: Principal;
  subjectPrefix: string;
  /** Trace context given to events that carry none. */
  traceparent: string;
  now: Date;
  /** The request's CloudEvents content mode (default `json`: one event or an array). */
  mode?: IngestMode;
}

/** Where an attribute came from in binary mode, for error messages: its header. */
function binaryHint(path: string): string {
  if (path === '' || path === 'data' || path.startsWith('data.')) return '';
  const top = path.split('.')[0];
  return top === 'datacontenttype' ? ' (header content-type)' : ` (header ce-${top})`;
}

/**
 * Turns the body of `POST /v1/events` (one CloudEvents event, or an array of them, in any content mode: see
 * `decodeIngestRequest`) into events ready to publish, or one problem for the whole request; nothing is
 * published unless every event is valid.
 *
 * - `application/cloudevents+json` is one event, `application/cloudevents-batch+json` an array; `application/json`
 *   either.
 * - `specversion` defaults to "1.0" (except in binary mode, whose binding requires `ce-specversion`) and `time` to
 *   the time of receipt; `id`, `source` and `type` are required.
 * - Each event is validated against the catalog by `type` and `schemaversion` (default 1).
 * - Only `external` event types may be posted; domain events belong to the services that own them.
 * - Tenant: an admin credential may set `partnerid` (or leave it out); a partner credential's events are
 *   stamped with its own partner id, and a different `partnerid` in the body is refused (422), not silently
 *   overwritten, so a misrouted client finds out.
 */
export function prepareEvents(body: unknown, opts: PrepareOptions): PrepareResult {
  const mode = opts.mode ?? 'json';
  if (mode === 'structured' && Array.isArray(body)) {
    const message = `${CE_STRUCTURED} carries one event (a JSON object); send several as ${CE_BATCH}`;
    return { ok: false, problem: validationProblem([{ path: '', message }]) };
  }
  if (mode === 'batch' && !Array.isArray(body)) {
    const message = `${CE_BATCH} carries a JSON array of events; send one event as ${CE_STRUCTURED}`;
    return { ok: false, problem: validationProblem([{ path: '', message }]) };
  }
  const binary = mode === 'binary';
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) {
    return { ok: false, problem: validationProblem([{ path: '', message: 'the batch is empty: send at least one event' }]) };
  }
  if (items.length > MAX_BATCH_EVENTS) {
    return {
      ok: false,
      problem: problem(
        413,
        'batch-too-large',
        'Too many events in one request',
        `a batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${items.length}: split it`,
        { max_events: MAX_BATCH_EVENTS },
      ),
    };
  }
  const { principal } = opts;
  const isAdmin = principal.kind === 'admin';
  if (!isAdmin && !principal.partner_id) {
    return { ok: false, problem: problem(403, 'forbidden', 'Not allowed', 'publishing events needs a partner or admin credential') };
  }
  const nowIso = opts.now.toISOString();
  const errors: FieldError[] = [];
  let errorCount = 0;
  const addError = (e: FieldError) => {
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(binary ? { ...e, message: e.message + binaryHint(e.path) } : e);
  };
  const out: PreparedEvent[] = new Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const item: unknown = items[index];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      addError({ index, path: '', message: 'an event must be a JSON object (CloudEvents structured mode)' });
      continue;
    }
    const raw = { ...(item as Record<string, unknown>) };
    if (raw.specversion === undefined && !binary) raw.specversion = '1.0';
    if (raw.time === undefined) raw.time = nowIso;
    if (raw.traceparent === undefined) raw.traceparent = opts.traceparent;
    // `application/json; charset=utf-8` (what the cloudevents SDK reads from a binary request) is the same type.
    if (typeof raw.datacontenttype === 'string' && JSON_UTF8.test(raw.datacontenttype)) raw.datacontenttype = 'application/json';
    if (!isAdmin) {
      if (raw.partnerid !== undefined && raw.partnerid !== principal.partner_id) {
        addError({ index, path: 'partnerid', message: `must be your own partner id "${principal.partner_id}" or left out` });
        continue;
      }
      raw.partnerid = principal.partner_id;
    }
    const r = validateEvent(raw);
    if (!r.ok) {
      for (const issue of r.issues) addError({ index, path: issue.path, message: issue.message });
      continue;
    }
    const event = r.event;
    const def = getDefinition(event.type, event.schemaversion);
    if (def && def.origin !== 'external') {
      addError({
        index,
        path: 'type',
        message: `"${event.type}" is a domain event of the platform and cannot be published here; only external event types can`,
      });
      continue;
    }
    if (event.partnerid !== undefined && !SUBJECT_TOKEN.test(event.partnerid)) {
      addError({ index, path: 'partnerid', message: 'must contain only letters, digits, "_" and "-"' });
      continue;
    }
    const tenant = event.partnerid ?? '_';
    out[index] = { event, subject: externalSubject(opts.subjectPrefix, event.partnerid, event.type), dedupeKey: `${tenant}:${event.id}` };
  }
  if (errorCount > 0) {
    const more = errorCount > errors.length ? ` (${errorCount} errors; the first ${errors.length} are listed)` : '';
    const detail = `${new Set(errors.map((e) => e.index)).size} of ${items.length} event(s) are invalid; nothing was published${more}`;
    return { ok: false, problem: validationProblem(errors, detail) };
  }
  return { ok: true, events: out };
}
