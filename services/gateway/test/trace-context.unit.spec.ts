import { describe, expect, it } from 'vitest';
import { nextTraceparent } from '../src/http/trace-context.ts';

const FORMAT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('nextTraceparent', () => {
  it('continues an incoming trace with a new span id and the same flags', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    const child = nextTraceparent(parent);
    expect(child).toMatch(FORMAT);
    expect(child.slice(0, 36)).toBe(parent.slice(0, 36));
    expect(child.slice(36, 52)).not.toBe('00f067aa0ba902b7');
    expect(child.endsWith('-00')).toBe(true);
  });

  it('starts a new sampled trace when the header is missing, malformed or all-zero', () => {
    for (const bad of [undefined, 'garbage', ['a', 'b'], '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
      const tp = nextTraceparent(bad);
      expect(tp).toMatch(FORMAT);
      expect(tp.endsWith('-01')).toBe(true);
      expect(tp.slice(3, 35)).not.toBe('00000000000000000000000000000000');
    }
  });

  it('does not repeat ids across many calls (the random pool refills)', () => {
    const seen = new Set(Array.from({ length: 5000 }, () => nextTraceparent(undefined)));
    expect(seen.size).toBe(5000);
  });
});
