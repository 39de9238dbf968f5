import { createHash } from 'node:crypto';
import { ulidFrom } from '@pep/runtime';

/**
 * The id of the delivery of one stream event to one endpoint (per replay job): `msg_` + a ULID whose time
 * part is when the event was stored and whose other 80 bits hash (endpoint, event sequence, replay job).
 * Being derived, not drawn, it is the same in every process: a delivery sent before its row was written
 * and sent again after a crash carries the same `webhook-id`, so the receiver can tell it is a repeat.
 */
export function deliveryId(endpointId: string, eventSeq: number, replayJobId: string, storedAtMs: number): string {
  const h = createHash('sha256').update(`${endpointId}\n${eventSeq}\n${replayJobId}`).digest();
  return `msg_${ulidFrom(storedAtMs, h).toLowerCase()}`;
}
