import { type PlatformEvent, type StoredEvent, upcast } from '@pep/contracts';
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import { PoisonMessageError } from './errors.ts';
import { headerTraceparent } from './event-tracing.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeEvent(event: PlatformEvent): Uint8Array {
  return enc.encode(JSON.stringify(event));
}

/** Decodes a stream message into an event at the latest schema version; malformed payloads are poison. */
export function decodeEvent(msg: Pick<JsMsg, 'data' | 'subject' | 'seq'> | StoredMsg): StoredEvent {
  let raw: PlatformEvent;
  try {
    raw = JSON.parse(dec.decode(msg.data)) as PlatformEvent;
  } catch (err) {
    throw new PoisonMessageError(`message ${msg.seq} on ${msg.subject} is not JSON`, { cause: err });
  }
  if (!raw || typeof raw !== 'object' || typeof raw.type !== 'string' || typeof raw.id !== 'string') {
    throw new PoisonMessageError(`message ${msg.seq} on ${msg.subject} is not an event envelope`);
  }
  const ev = upcast(raw);
  const traced = headerTraceparent(msg);
  return Object.assign(ev, { seq: msg.seq, subject_name: msg.subject }, traced ? { traceparent: traced } : {});
}
