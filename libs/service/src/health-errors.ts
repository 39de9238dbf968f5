/**
 * A readiness check that failed: `check` names the line in /readyz (`nats`, `postgres`, `projection:<name>`), the
 * message is what the line says, and `cause` keeps the engine's own error (for logs and traces).
 */
export class HealthCheckError extends Error {
  readonly check: string;
  constructor(check: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HealthCheckError';
    this.check = check;
  }
}
