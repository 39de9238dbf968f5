import type { WebhookPayloadFormat } from '@pep/contracts';
import type { CompiledMapping, MappingFailure } from '@pep/mapping';
import { signWebhook, UnsafeUrlError } from '@pep/webhooks';
import { type Dispatcher, errors as undiciErrors, request } from 'undici';
import { parseRetryAfter } from './retry-policy.ts';

export const EXCERPT_BYTES = 4096;

export interface AttemptInput {
  deliveryId: string;
  url: string;
  /** The event envelope as published (JSON). */
  body: string;
  /** How the request carries the event (the endpoint's `payload_format`). */
  format: WebhookPayloadFormat;
  secrets: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  traceparent: string;
  now: Date;
  /** The integration mapping that shapes the body (the endpoint's integration has one for the event's type). */
  mapping?: { version: number; compiled: CompiledMapping };
}

export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  /** timeout, tls_error, connect_error, ssrf_refused, http_error, network_error, payload_error, mapping_error. */
  errorClass: string | null;
  error: string | null;
  retryAfterMs: number | undefined;
  /** The mapping version that shaped the body (null: unmapped). */
  mappingVersion: number | null;
  /** Set when the mapping failed on this event: nothing was sent. */
  mappingFailure?: MappingFailure;
}

/** Codes of TLS failures (node's and OpenSSL's): the certificate, its chain or the handshake. */
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|ERR_OSSL_|HOSTNAME_MISMATCH$)/;

function classify(err: unknown): { cls: string; msg: string } {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof UnsafeUrlError) return { cls: 'ssrf_refused', msg: e.message };
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODE.test(code)) {
      return { cls: 'tls_error', msg: `TLS: ${code}: ${(e as Error).message ?? ''}`.slice(0, 500) };
    }
    e = (e as { cause?: unknown }).cause;
  }
  const error = err as Error & { code?: string; name?: string };
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    error?.name === 'TimeoutError' ||
    error?.name === 'AbortError'
  ) {
    return { cls: 'timeout', msg: 'timed out' };
  }
  if (error?.code && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(error.code)) {
    return { cls: 'connect_error', msg: `${error.code}` };
  }
  return { cls: 'network_error', msg: `${error?.name ?? 'Error'}: ${error?.message ?? String(err)}`.slice(0, 500) };
}

export const CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8';

/** The body and format-specific headers of a delivery request. */
export interface WebhookPayload {
  headers: Record<string, string>;
  body: string;
}

/** Envelope attributes that binary mode does not carry as `ce-*` headers. */
const NOT_A_CE_HEADER = new Set(['data', 'data_base64', 'datacontenttype', 'traceparent', 'tracestate']);
const CE_ATTRIBUTE_NAME = /^[a-z0-9]{1,64}$/;
/** Printable ASCII: what can go into a header as it is. */
const HEADER_VALUE = /^[\x20-\x7e]{1,512}$/;

/**
 * Percent-encodes a `ce-*` header value as the CloudEvents HTTP binding asks (§3.1.3.2): space, `"`, `%` and
 * every character outside printable ASCII, as the percent-encoded bytes of its UTF-8 form.
 */
export function encodeCeHeaderValue(value: string): string {
  if (/^[\x21\x23\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (c > 0x20 && c < 0x7f && ch !== '"' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Builds the request for one format from the published envelope:
 * - `standard_webhooks`: the envelope as the `application/json` body;
 * - `cloudevents_structured`: the envelope as the `application/cloudevents+json` body (it is a CloudEvent);
 * - `cloudevents_binary`: every attribute as a `ce-<name>` header (numbers and booleans as text), `data` alone
 *   as the body with `datacontenttype` as its Content-Type. The event's trace context travels as the W3C
 *   `traceparent` header of the request (a child of the event's) and its `tracestate` header.
 */
export function buildPayload(format: WebhookPayloadFormat, envelope: string, mapped?: MappedEvent): WebhookPayload {
  if (mapped) return buildMappedPayload(format, mapped);
  switch (format) {
    case 'standard_webhooks':
      return { headers: { 'content-type': 'application/json' }, body: envelope };
    case 'cloudevents_structured':
      return { headers: { 'content-type': CLOUDEVENTS_JSON }, body: envelope };
    case 'cloudevents_binary': {
      const ev = JSON.parse(envelope) as Record<string, unknown>;
      const headers: Record<string, string> = {
        'content-type':
          typeof ev.datacontenttype === 'string' && HEADER_VALUE.test(ev.datacontenttype) ? ev.datacontenttype : 'application/json',
      };
      for (const [name, value] of Object.entries(ev)) {
        if (NOT_A_CE_HEADER.has(name) || !CE_ATTRIBUTE_NAME.test(name) || value === undefined || value === null) continue;
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
        headers[`ce-${name}`] = encodeCeHeaderValue(String(value));
      }
      // Passed on only when it is a valid header value (W3C tracestate is printable ASCII).
      if (typeof ev.tracestate === 'string' && HEADER_VALUE.test(ev.tracestate)) headers.tracestate = ev.tracestate.trim();
      return { headers, body: ev.data === undefined ? '' : JSON.stringify(ev.data) };
    }
    default: {
      const never: never = format;
      throw new Error(`unknown payload format ${String(never)}`);
    }
  }
}

/** An event whose `data` an integration mapping replaced. */
export interface MappedEvent {
  envelope: Record<string, unknown>;
  /** The mapped payload, serialized. */
  body: string;
}

/**
 * A mapped delivery: the mapping's result replaces the event's `data`.
 * - `standard_webhooks`: the mapped payload alone is the body; the envelope's id, type and time travel as
 *   `x-event-id`, `x-event-type`, `x-event-time` headers (and `webhook-id` is the delivery id, as always);
 * - `cloudevents_structured`: the envelope with the mapped payload as its `data`;
 * - `cloudevents_binary`: the `ce-*` headers as unmapped, the mapped payload as the body.
 */
function buildMappedPayload(format: WebhookPayloadFormat, m: MappedEvent): WebhookPayload {
  switch (format) {
    case 'standard_webhooks': {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of ['id', 'type', 'time'] as const) {
        const v = m.envelope[name];
        if (typeof v === 'string' && HEADER_VALUE.test(v)) headers[`x-event-${name}`] = v;
      }
      return { headers, body: m.body };
    }
    case 'cloudevents_structured':
      return {
        headers: { 'content-type': CLOUDEVENTS_JSON },
        body: JSON.stringify({ ...m.envelope, datacontenttype: 'application/json', data: JSON.parse(m.body) }),
      };
    case 'cloudevents_binary': {
      const unmapped = buildPayload(
        'cloudevents_binary',
        JSON.stringify({ ...m.envelope, datacontenttype: 'application/json', data: null }),
      );
      return { headers: unmapped.headers, body: m.body };
    }
    default: {
      const never: never = format;
      throw new Error(`unknown payload format ${String(never)}`);
    }
  }
}

/**
 * Applies the mapping to the envelope's data. A failure is a value (the attempt is not made), never a throw.
 */
async function applyMapping(
  envelope: string,
  compiled: CompiledMapping,
): Promise<{ ok: true; mapped: MappedEvent } | { ok: false; error: MappingFailure }> {
  let ev: Record<string, unknown>;
  try {
    ev = JSON.parse(envelope) as Record<string, unknown>;
  } catch (err) {
    return {
      ok: false,
      error: { class: 'runtime', code: 'M1006', message: `the event is not JSON: ${(err as Error).message}`.slice(0, 500), position: null },
    };
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const r = await compiled.evaluate({
    id: str(ev.id) ?? '',
    type: str(ev.type) ?? '',
    time: str(ev.time) ?? '',
    source: str(ev.source),
    subject: str(ev.subject),
    data: ev.data,
  });
  return r.ok ? { ok: true, mapped: { envelope: ev, body: r.body } } : { ok: false, error: r.error };
}

/**
 * One HTTP attempt: POST the event in the endpoint's payload format, signed per Standard Webhooks over the
 * exact body bytes (with every valid secret), with the endpoint's custom headers and a child `traceparent`;
 * 2xx is success. The response body is kept up to 4 KiB for the attempt log.
 */
export async function sendAttempt(dispatcher: Dispatcher, a: AttemptInput): Promise<AttemptOutcome> {
  const mappingVersion = a.mapping?.version ?? null;
  let mapped: MappedEvent | undefined;
  if (a.mapping) {
    const r = await applyMapping(a.body, a.mapping.compiled);
    if (!r.ok) {
      const error = `mapping v${a.mapping.version} failed (${r.error.class} ${r.error.code}): ${r.error.message}`.slice(0, 500);
      return {
        ok: false,
        statusCode: null,
        latencyMs: 0,
        excerpt: null,
        errorClass: 'mapping_error',
        error,
        retryAfterMs: undefined,
        mappingVersion,
        mappingFailure: r.error,
      };
    }
    mapped = r.mapped;
  }
  let payload: WebhookPayload;
  try {
    payload = buildPayload(a.format, a.body, mapped);
  } catch (err) {
    const msg = `the event could not be put in the ${a.format} format: ${(err as Error).message}`.slice(0, 500);
    return {
      ok: false,
      statusCode: null,
      latencyMs: 0,
      excerpt: null,
      errorClass: 'payload_error',
      error: msg,
      retryAfterMs: undefined,
      mappingVersion,
    };
  }
  const signed = signWebhook({ id: a.deliveryId, timestamp: a.now, body: payload.body, secrets: a.secrets });
  const started = performance.now();
  try {
    const res = await request(a.url, {
      method: 'POST',
      dispatcher,
      headers: {
        ...a.headers,
        ...payload.headers,
        'user-agent': 'pep-webhooks/1.0',
        traceparent: a.traceparent,
        ...signed,
      },
      body: payload.body,
      headersTimeout: a.timeoutMs,
      bodyTimeout: a.timeoutMs,
      signal: AbortSignal.timeout(a.timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      if (size < EXCERPT_BYTES) chunks.push(b.subarray(0, EXCERPT_BYTES - size));
      size += b.length;
      if (size >= EXCERPT_BYTES) break;
    }
    if (size >= EXCERPT_BYTES) res.body.destroy();
    const latencyMs = performance.now() - started;
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const excerpt = chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
    return {
      ok,
      statusCode: res.statusCode,
      latencyMs,
      excerpt,
      errorClass: ok ? null : 'http_error',
      error: ok ? null : `HTTP ${res.statusCode}`,
      retryAfterMs: ok ? undefined : parseRetryAfter(res.headers['retry-after'], a.now),
      mappingVersion,
    };
  } catch (err) {
    const { cls, msg } = classify(err);
    return {
      ok: false,
      statusCode: null,
      latencyMs: performance.now() - started,
      excerpt: null,
      errorClass: cls,
      error: msg,
      retryAfterMs: undefined,
      mappingVersion,
    };
  }
}
