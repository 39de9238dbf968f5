import { createHash } from 'node:crypto';

const h = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');

/**
 * Incident ids are chosen by the monitors, so two partners may use the same one: the aggregate id (and
 * subject token) is a hash of both, which keeps tenants apart and the intake idempotent per partner.
 */
export function incidentKey(partnerId: string, incidentId: string): string {
  return `inc${h(partnerId, incidentId).slice(0, 40)}`;
}

/** One policy per (partner, customer): its id is derived, so a concurrent second create conflicts. */
export function policyIdFor(partnerId: string, customerId: string): string {
  return `rbp_${h(partnerId, customerId).slice(0, 24)}`;
}

/** Stable id of an action within an incident: the idempotency key of its effect. */
export function actionIdFor(kind: string, target: string): string {
  return `act_${h(kind, target).slice(0, 16)}`;
}

/** Deterministic event id, so a re-decided command after a crash publishes the same id (deduped by the stream). */
export function eventIdFor(...parts: string[]): string {
  return `evt_${h(...parts).slice(0, 32)}`;
}
