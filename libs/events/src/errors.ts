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
