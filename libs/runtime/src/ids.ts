import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID (time-sortable, 26 Crockford base32 chars). `now` is injectable so deciders stay pure. */
export function ulid(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[(rnd[i] as number) % 32];
  return time + rand;
}

/** Prefixed, sortable id in the style of Stripe's (`prt_01J...`). */
export function newId(prefix: string, now?: number): string {
  return `${prefix}_${ulid(now).toLowerCase()}`;
}
