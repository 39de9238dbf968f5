import { NotFoundError } from '@pep/runtime';

/** Named errors of the event library (nats.js style: a class per failure, with `cause`). */
export class ConcurrencyConflictError extends Error {
  constructor(
    readonly subject: string,
    readonly expectedSeq: number,
    options?: { cause?: unknown },
  ) {
    super(`concurrent append to ${subject}: expected last sequence ${expectedSeq}`, options);
    this.name = 'ConcurrencyConflictError';
  }
}

export class PublishError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishError';
  }
}

export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoisonMessageError';
  }
}

/**
 * A value that cannot be a NATS subject token (`[A-Za-z0-9_-]+`): an id with a dot, a wildcard, a space, ...
 * No aggregate or tenant can have such an id, so it answers like an unknown one (404 not-found), never a 500.
 * The edge refuses these ids before they get here (contracts' id schemas); this is the last line of defence.
 */
export class InvalidSubjectTokenError extends NotFoundError {
  constructor(
    readonly what: string,
    readonly value: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} is not a valid identifier`, options);
  }
}

/** A durable consumer could not be read or created (not "it did not exist": that one is created). */
export class ConsumerSetupError extends Error {
  constructor(
    readonly durable: string,
    what: string,
    options?: { cause?: unknown },
  ) {
    super(`consumer ${durable}: ${what}`, options);
    this.name = 'ConsumerSetupError';
  }
}
