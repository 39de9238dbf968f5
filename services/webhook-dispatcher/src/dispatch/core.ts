import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import type { Clock } from './clock.ts';
import type { DispatchMetrics } from './metrics.ts';

/** What every part of the delivery engine is given: its database, its clock and its metrics. */
export interface DispatchCore {
  db: Kysely<DispatcherDB>;
  clock: Clock;
  metrics: DispatchMetrics;
}
