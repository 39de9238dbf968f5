/**
 * Named error classes, one problem type each (RFC 9457). Services throw them; the gateway and the NATS
 * handlers map them to `application/problem+json` with `toProblem`.
 */
export interface FieldError {
  /** Index in a batch, when the request carried several items. */
  index?: number;
  /** Dotted path of the offending field, e.g. `data.email`. */
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_BASE = 'https://docs.partner-platform.dev/problems/';

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly problemType: string;
  abstract readonly title: string;
  readonly extensions: Record<string, unknown>;
  constructor(message: string, options?: { cause?: unknown; extensions?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.extensions = options?.extensions ?? {};
  }
  toProblem(instance?: string): Problem {
    return {
      type: PROBLEM_BASE + this.problemType,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly problemType = 'bad-request';
  readonly title = 'Bad request';
}

export class ValidationError extends AppError {
  readonly status = 422;
  readonly problemType = 'validation-error';
  readonly title = 'The request is not valid';
  readonly errors: FieldError[];
  constructor(errors: FieldError[], message?: string) {
    super(message ?? errors.map((e) => `${e.index !== undefined ? `[${e.index}] ` : ''}${e.path || '(body)'}: ${e.message}`).join('; '));
    this.errors = errors;
  }
  override toProblem(instance?: string): Problem {
    return { ...super.toProblem(instance), errors: this.errors };
  }
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly problemType = 'unauthorized';
  readonly title = 'Authentication required';
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly problemType = 'forbidden';
  readonly title = 'Not allowed';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly problemType = 'not-found';
  readonly title = 'Not found';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly problemType = 'conflict';
  readonly title = 'Conflict';
}

/** A command that the aggregate's current state does not allow (suspending a terminated partner, say). */
export class IllegalTransitionError extends AppError {
  readonly status = 409;
  readonly problemType = 'illegal-transition';
  readonly title = 'The resource is not in a state that allows this';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly problemType = 'payload-too-large';
  readonly title = 'Payload too large';
}

export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly problemType = 'rate-limited';
  readonly title = 'Too many requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, { extensions: { retry_after: retryAfterSeconds } });
  }
}

export class UnavailableError extends AppError {
  readonly status = 503;
  readonly problemType = 'unavailable';
  readonly title = 'Temporarily unavailable';
}

export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).status === 'number' &&
    typeof (value as Problem).type === 'string' &&
    typeof (value as Problem).title === 'string'
  );
}

/** Maps any thrown value to a problem; unknown errors become an opaque 500 (details stay in the logs). */
export function toProblem(err: unknown, instance?: string): Problem {
  if (err instanceof AppError) return err.toProblem(instance);
  return {
    type: `${PROBLEM_BASE}internal`,
    title: 'Internal error',
    status: 500,
    detail: 'An unexpected error occurred; it has been logged.',
    ...(instance ? { instance } : {}),
  };
}
