import type { HeldMessage } from './held-message.ts';
import type { ClaimedDelivery, IntakeEvent, NewDelivery } from './store.ts';

/** A delivery claimed from Postgres: its row is leased to this process. */
export type ClaimedWork = ClaimedDelivery & { kind: 'claimed' };

/** A delivery held straight from the stream with no row yet: its message stays unacked until it is recorded. */
export interface HeldWork {
  kind: 'held';
  id: string;
  endpoint_id: string;
  event_type: string;
  attempts: 0;
  body: string;
  traceparent: string | null;
  stored_at_ms: number;
  delivery: NewDelivery;
  event: IntakeEvent;
  msg: HeldMessage;
  heldSince: number;
}

/** A delivery in a lane. */
export type Work = ClaimedWork | HeldWork;

/** The events of some held deliveries, once each (several deliveries may share one event). */
export function distinctEvents(items: readonly HeldWork[]): IntakeEvent[] {
  const bySeq = new Map<number, IntakeEvent>();
  for (const w of items) bySeq.set(w.event.seq, w.event);
  return [...bySeq.values()];
}
