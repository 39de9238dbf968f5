/** Named errors of projections (a new file: errors.ts is edited elsewhere). */
export class ProjectionBehindError extends Error {
  constructor(
    readonly projection: string,
    readonly target: number,
    readonly applied: number,
    readonly timeoutMs: number,
    readonly state: string,
    options?: { cause?: unknown },
  ) {
    super(`projection ${projection} did not reach ${target} in ${timeoutMs} ms (at ${applied}; ${state})`, options);
    this.name = 'ProjectionBehindError';
  }
}

export class DeadLetterRetryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadLetterRetryError';
  }
}

/** A database error that says the server is away (not that the event is bad): never a reason to dead-letter. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
  const msg = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)|terminating connection/i.test(
    msg,
  );
}
