/**
 * Subject layout of the PLATFORM stream (prefix configurable so tests get their own):
 *   <prefix>.agg.<aggregate>.<id>          domain events of one aggregate (optimistic concurrency per subject)
 *   <prefix>.ext.<partnerid|_>.<type...>   events that came from outside (partner business events, monitors, webhooks)
 */
import { InvalidSubjectTokenError } from './errors.ts';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** A subject token, or InvalidSubjectTokenError (404: no aggregate or tenant can have this id). */
function token(value: string, what: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) throw new InvalidSubjectTokenError(what, String(value));
  return value;
}

export function aggregateSubject(prefix: string, aggregate: string, id: string): string {
  return `${prefix}.agg.${token(aggregate, 'aggregate')}.${token(id, 'aggregate id')}`;
}

export function aggregateFilter(prefix: string, aggregate?: string): string {
  return aggregate ? `${prefix}.agg.${token(aggregate, 'aggregate')}.>` : `${prefix}.agg.>`;
}

export function externalSubject(prefix: string, partnerId: string | undefined, type: string): string {
  return `${prefix}.ext.${partnerId ? token(partnerId, 'partner id') : '_'}.${type}`;
}

export function externalFilter(prefix: string): string {
  return `${prefix}.ext.>`;
}

export function allFilter(prefix: string): string {
  return `${prefix}.>`;
}
