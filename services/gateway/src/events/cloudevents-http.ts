import type { IncomingHttpHeaders } from 'node:http';
import { AppError, type FieldError, type Problem } from '@pep/runtime';
import { problem } from '../http/http-result.ts';

/**
 * How a `POST /v1/events` request carries its events (CloudEvents HTTP protocol binding 1.0):
 * - `json`: `application/json`, one event object or an array of them (the platform's own form);
 * - `structured`: `application/cloudevents+json`, one event object;
 * - `batch`: `application/cloudevents-batch+json`, an array of event objects;
 * - `binary`: the attributes as `ce-*` headers and the event's data as the body, `Content-Type` being the data's.
 */
export type IngestMode = 'json' | 'structured' | 'batch' | 'binary';

/** A request body read according to its mode: what `prepareEvents` validates, and what the idempotency hash covers. */
export interface DecodedIngest {
  mode: IngestMode;
  /** One raw event or an array of them (binary mode: the event assembled from its headers and body). */
  body: unknown;
}

export const CE_STRUCTURED = 'application/cloudevents+json';
export const CE_BATCH = 'application/cloudevents-batch+json';
const JSON_MEDIA_TYPE = 'application/json';
/** CloudEvents attribute names are lower-case letters and digits. */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,64}$/;
const PERCENT_OR_NON_ASCII = /[%\u0080-\uffff]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A request whose body cannot be read in its content mode: answered with its problem before anything else runs. */
export class IngestBodyError extends AppError {
  readonly status: number;
  readonly problemType: string;
  readonly title: string;
  constructor(
    readonly problem: Problem,
    options?: { cause?: unknown },
  ) {
    super(problem.detail ?? problem.title, options);
    this.status = problem.status;
    this.problemType = problem.type.slice(problem.type.lastIndexOf('/') + 1);
    this.title = problem.title;
  }
  override toProblem(instance?: string): Problem {
    return { ...this.problem, ...(instance ? { instance } : {}) };
  }
}

function mediaTypeOf(contentType: string | undefined): { type: string | undefined; charset: string | undefined } {
  if (contentType === undefined) return { type: undefined, charset: undefined };
  const [type, ...params] = contentType.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'charset')
      charset = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '')
        .toLowerCase();
  }
  const t = type?.trim().toLowerCase();
  return { type: t || undefined, charset };
}

/** Whether the request carries any `ce-*` header (binary content mode). */
function hasCeHeaders(headers: IncomingHttpHeaders): boolean {
  for (const name in headers) if (name.startsWith('ce-')) return true;
  return false;
}

/**
 * Decodes a `ce-*` header value: the HTTP binding percent-encodes space, `"`, `%` and everything outside
 * printable ASCII as UTF-8 bytes. A `%` not followed by two hex digits is taken literally (senders that do not
 * encode, such as the cloudevents SDK, still read the same); bytes that are not UTF-8 are refused.
 */
export function decodeCeHeaderValue(value: string): string | undefined {
  if (!PERCENT_OR_NON_ASCII.test(value)) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) {
      bytes.push(c); // Node gives header bytes as latin1 characters
    } else {
      return undefined;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch (err) {
    // Not UTF-8 (the decoder is fatal): the caller refuses the header by name.
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}

const unsupportedMediaType = (contentType: string | undefined, detail: string, errors?: FieldError[]) =>
  new IngestBodyError(
    problem(415, 'unsupported-media-type', 'Unsupported media type', detail, {
      ...(contentType === undefined ? {} : { content_type: contentType }),
      ...(errors ? { errors } : {}),
    }),
  );

function parseJsonBody(text: string | undefined, mediaType: string, parseJson: (text: string) => unknown): unknown {
  if (text === undefined || text.length === 0) {
    throw new IngestBodyError(problem(400, 'malformed-json', 'The body is empty', `Content-Type is ${mediaType} but the body is empty`));
  }
  try {
    return parseJson(text);
  } catch (err) {
    throw new IngestBodyError(
      problem(400, 'malformed-json', 'The body is not valid JSON', 'the request body could not be parsed as JSON'),
      {
        cause: err,
      },
    );
  }
}

/**
 * Reads a `POST /v1/events` request in whichever CloudEvents content mode it uses. Only what cannot be read is
 * refused here (unsupported media type, malformed JSON or header encoding); the events themselves are validated
 * by `prepareEvents`, the same for every mode.
 *
 * Binary mode is chosen when the Content-Type is not a structured CloudEvents type and any `ce-*` header is
 * present. Its data must be JSON (`application/json`, UTF-8), the only `datacontenttype` the platform stores.
 */
export function decodeIngestRequest(
  headers: IncomingHttpHeaders,
  text: string | undefined,
  parseJson: (text: string) => unknown,
): DecodedIngest {
  const contentType = headers['content-type'];
  const media = mediaTypeOf(contentType);
  if (media.type === CE_STRUCTURED) return { mode: 'structured', body: parseJsonBody(text, media.type, parseJson) };
  if (media.type === CE_BATCH) return { mode: 'batch', body: parseJsonBody(text, media.type, parseJson) };
  if (hasCeHeaders(headers)) return { mode: 'binary', body: binaryEvent(headers, text, media, contentType, parseJson) };
  if (media.type === JSON_MEDIA_TYPE) return { mode: 'json', body: parseJsonBody(text, media.type, parseJson) };
  if (media.type === undefined && (text === undefined || text.length === 0)) return { mode: 'json', body: undefined };
  throw unsupportedMediaType(
    contentType,
    `Content-Type "${contentType ?? ''}" is not accepted here; send application/json, ${CE_STRUCTURED} or ${CE_BATCH}, ` +
      'or one event in CloudEvents binary mode (ce-* headers, its JSON data as the body)',
  );
}

function binaryEvent(
  headers: IncomingHttpHeaders,
  text: string | undefined,
  media: { type: string | undefined; charset: string | undefined },
  contentType: string | undefined,
  parseJson: (text: string) => unknown,
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const name in headers) {
    if (!name.startsWith('ce-')) continue;
    const attribute = name.slice(3);
    // Not an attribute name (ignored, like unknown extensions); data and its type come from the body.
    if (!ATTRIBUTE_NAME.test(attribute) || attribute === 'data' || attribute === 'datacontenttype') continue;
    const value = headers[name];
    const decoded = decodeCeHeaderValue(Array.isArray(value) ? value.join(',') : (value ?? ''));
    if (decoded === undefined) {
      throw new IngestBodyError(
        problem(400, 'bad-request', 'Bad request', `header ce-${attribute} is not valid percent-encoded UTF-8`, {
          errors: [{ index: 0, path: attribute, message: `header ce-${attribute} is not valid percent-encoded UTF-8` }],
        }),
      );
    }
    // Header values are text; the one integer attribute of the envelope is read back as a number.
    raw[attribute] = attribute === 'schemaversion' && /^[0-9]{1,9}$/.test(decoded) ? Number(decoded) : decoded;
  }
  const hasBody = text !== undefined && text.length > 0;
  if (media.type === undefined) {
    if (hasBody) {
      throw unsupportedMediaType(undefined, 'a binary-mode event with data needs Content-Type: application/json (the data’s type)', [
        { index: 0, path: 'datacontenttype', message: 'Content-Type is missing; the data must be application/json' },
      ]);
    }
    return raw;
  }
  if (media.type !== JSON_MEDIA_TYPE || (media.charset !== undefined && media.charset !== 'utf-8')) {
    const message = `the data must be application/json (UTF-8), the only datacontenttype the platform stores; got "${contentType}"`;
    throw unsupportedMediaType(contentType, `CloudEvents binary mode: ${message}`, [{ index: 0, path: 'datacontenttype', message }]);
  }
  raw.datacontenttype = JSON_MEDIA_TYPE;
  if (hasBody) {
    try {
      raw.data = parseJson(text);
    } catch (err) {
      const message = 'the body is not valid JSON, but Content-Type says application/json';
      throw new IngestBodyError(
        problem(400, 'malformed-json', 'The data is not valid JSON', `CloudEvents binary mode: ${message}`, {
          errors: [{ index: 0, path: 'data', message }],
        }),
        { cause: err },
      );
    }
  }
  return raw;
}
