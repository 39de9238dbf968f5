import { describe, expect, it } from 'vitest';
import { perContext } from '../src/index.ts';

describe('perContext', () => {
  it('builds once per context and hands the same value back after', () => {
    let built = 0;
    const runtimeOf = perContext((ctx: { name: string }) => ({ name: ctx.name, n: ++built }));
    const a = { name: 'a' };
    const first = runtimeOf(a);
    expect(runtimeOf(a)).toBe(first);
    expect(built).toBe(1);
    expect(first).toEqual({ name: 'a', n: 1 });
  });

  it('gives a second context a value of its own', () => {
    const runtimeOf = perContext((ctx: { name: string }) => ({ name: ctx.name }));
    const a = runtimeOf({ name: 'a' });
    const b = runtimeOf({ name: 'b' });
    expect(a).not.toBe(b);
    expect(b.name).toBe('b');
  });

  it('remembers a falsy value rather than building again', () => {
    let built = 0;
    const runtimeOf = perContext((_ctx: object) => {
      built++;
      return undefined;
    });
    const ctx = {};
    runtimeOf(ctx);
    runtimeOf(ctx);
    expect(built).toBe(1);
  });

  it('does not remember a build that threw, so the next call tries again', () => {
    let calls = 0;
    const runtimeOf = perContext((_ctx: object) => {
      calls++;
      if (calls === 1) throw new Error('not yet');
      return calls;
    });
    const ctx = {};
    expect(() => runtimeOf(ctx)).toThrow('not yet');
    expect(runtimeOf(ctx)).toBe(2);
  });
});
