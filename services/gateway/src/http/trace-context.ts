import { randomFillSync } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/;
const POOL_BYTES = 16 * 1024;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** Random hex from a pooled buffer: one `randomFillSync` per ~680 requests instead of two per request. */
function randomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return s;
}

/**
 * W3C trace context for the next hop: a child span of the incoming `traceparent` (same trace id and flags,
 * new span id), or a new sampled trace when it is absent or invalid.
 */
export function nextTraceparent(incoming: string | string[] | undefined): string {
  const m = typeof incoming === 'string' ? TRACEPARENT.exec(incoming) : null;
  if (m && m[1] !== '00000000000000000000000000000000') return `00-${m[1]}-${randomHex(8)}-${m[2]}`;
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}
