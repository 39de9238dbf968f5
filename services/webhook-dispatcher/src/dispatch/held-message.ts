import type { JsMsg } from '@nats-io/jetstream';

/** What a held message needs to be settled: its stream handle (ack, nak, working). */
export type HeldHandle = Pick<JsMsg, 'ack' | 'nak' | 'working'>;

/** One stream message whose deliveries this process holds; acked once every one of them is recorded. */
export interface HeldMessage {
  m: HeldHandle;
  /** Deliveries (and the insert of its overflow rows) not yet recorded. */
  refs: number;
  /** Something could not be recorded: the message is given back (nak) instead of acked. */
  failed: boolean;
  settled: boolean;
}

export const heldMessage = (m: HeldHandle, refs: number): HeldMessage => ({ m, refs, failed: false, settled: false });

/**
 * One of a held message's deliveries is recorded (or could not be): ack it when the last one is. A message
 * given back is delivered again; it then takes the path through rows, which never sends a delivery whose
 * row already records an attempt.
 */
export function settle(h: HeldMessage, ok: boolean): void {
  if (!ok) h.failed = true;
  if (--h.refs > 0 || h.settled) return;
  h.settled = true;
  if (h.failed) h.m.nak(1000);
  else h.m.ack();
}
