import { createHash } from 'node:crypto';
import type { PlatformEvent } from '@pep/contracts';
import { newEvent } from '@pep/events';

/** The CloudEvents `source` of every event github-bridge appends. */
export const SOURCE = 'urn:pep:github-bridge';

/** A deterministic event id from its parts, so a retried use case appends the same id (deduped by the stream). */
export const derivedEventId = (...parts: string[]) => `evt_${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;

/** A platform event of github-bridge with a chosen id (deduplication) and time. */
export function envelope(type: string, eventId: string, data: unknown, time: string, extra: Partial<PlatformEvent> = {}): PlatformEvent {
  return { ...newEvent({ type, data, source: SOURCE, time, id: eventId }), ...extra };
}
