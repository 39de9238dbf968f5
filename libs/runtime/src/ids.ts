import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID (time-sortable, 26 Crockford base32 chars). `now` is injectable so deciders stay pure. */
export function ulid(now: number = Date.now()): string {
  return ulidFrom(now, randomBytes(16));
}

/** A ULID from a time (ms) and 16 given bytes (each gives one base32 char): derived ids, not random ones. */
export function ulidFrom(ms: number, entropy: Uint8Array): string {
  let time = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[(entropy[i] as number) % 32];
  return time + rand;
}

/** Prefixed, sortable id in the style of Stripe's (`prt_01J...`). */
export function newId(prefix: string, now?: number): string {
  return `${prefix}_${ulid(now).toLowerCase()}`;
}
