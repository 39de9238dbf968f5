import { describe, expect, it } from 'vitest';
import { compileMapping, MAPPING_LIMITS, MappingCompileError, resolveMapping } from '../src/index.ts';

const event = (data: unknown) => ({ id: 'evt_1', type: 'lead.created', time: '2026-02-01T10:00:00.000Z', data });

describe('mapping evaluation', () => {
  it('reshapes data; $event holds the envelope attributes only', async () => {
    const m = compileMapping('{ "fullName": first & " " & last, "kind": $event.type, "id": $event.id, "n": $count(tags) }');
    const r = await m.evaluate(event({ first: 'Ada', last: 'Lovelace', tags: ['a', 'b'] }));
    expect(r).toEqual({ ok: true, body: '{"fullName":"Ada Lovelace","kind":"lead.created","id":"evt_1","n":2}' });
  });

  it('names the compile error with its code and position', () => {
    try {
      compileMapping('{ "a": $sum(x ');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MappingCompileError);
      expect((err as MappingCompileError).code).toMatch(/^S0/);
      expect((err as MappingCompileError).position).toBeGreaterThan(0);
    }
  });

  it('stops an infinite loop (timeout) and unbounded recursion (depth)', async () => {
    const loop = compileMapping('($f := function($x){ $x > -1 ? $f($x + 1) : 0 }; $f(0))');
    const r = await loop.evaluate(event({}));
    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.error.class).toMatch(/^(timeout|depth)$/);
    const slow = compileMapping('$count([1..9999].($x := $; [1..9999].($ * $x)))');
    const s = await slow.evaluate(event({}));
    expect(s).toMatchObject({ ok: false, error: { class: expect.stringMatching(/^(timeout|size)$/) } });
  });

  it('bounds work by steps counted per evaluation, not by the wall clock of interleaved evaluations', async () => {
    const m = compileMapping('$sum([1..5000].($ * 2))', { ...MAPPING_LIMITS, maxSteps: 1000 });
    expect(await m.evaluate(event({}))).toMatchObject({ ok: false, error: { class: 'timeout', code: 'M1007' } });
    // Many concurrent evaluations of a cheap mapping all succeed: each has its own count.
    const cheap = compileMapping('{ "a": a, "b": $uppercase(b) }', { ...MAPPING_LIMITS, maxSteps: 50 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => cheap.evaluate(event({ a: i, b: 'x' }))));
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('stops results that grow without bound (memory)', async () => {
    const doubling = compileMapping('$reduce([1..40], function($acc, $x){ $acc & $acc }, "xxxxxxxxxx")');
    expect(await doubling.evaluate(event({}))).toMatchObject({ ok: false, error: { class: 'size', code: 'M1001' } });
    const big = compileMapping('[1..1000000]');
    expect(await big.evaluate(event({}))).toMatchObject({ ok: false, error: { class: 'size' } });
  });

  it('an expression with no result for the event is a failure, not an empty delivery', async () => {
    expect(await compileMapping('missing.field').evaluate(event({ a: 1 }))).toMatchObject({ ok: false, error: { class: 'empty' } });
  });

  it('a runtime error is reported with its code and position', async () => {
    const r = await compileMapping('$number("x") + 1').evaluate(event({}));
    expect(r).toMatchObject({ ok: false, error: { class: 'runtime', code: expect.stringMatching(/^D/) } });
  });

  it('resolves exact, then the longest prefix wildcard, then *', () => {
    const m = new Map([
      ['*', 1],
      ['lead.*', 2],
      ['lead.created', 3],
    ]);
    expect(resolveMapping(m, 'lead.created')).toEqual({ key: 'lead.created', mapping: 3 });
    expect(resolveMapping(m, 'lead.updated')).toEqual({ key: 'lead.*', mapping: 2 });
    expect(resolveMapping(m, 'claim.filed')).toEqual({ key: '*', mapping: 1 });
    expect(resolveMapping(new Map([['lead.*', 2]]), 'claim.filed')).toBeUndefined();
  });
});
