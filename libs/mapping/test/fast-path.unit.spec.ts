import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../src/index.ts';
import { MAPPING_LIMITS } from '../src/mapping.ts';
import { Bail, fastEvaluator } from '../src/fast-path.ts';

const EXPRESSIONS = [
  '{ "contact": { "email": email, "name": first_name & " " & last_name }, "external_id": lead_id, "channel": $uppercase(source), "kind": $event.type }',
  '{ "contact": { "email": email, "name": first_name & " " & last_name }, "source": $event.type, "tags": $count(tags) }',
  '{ "a": a.b.c, "low": $lowercase(name), "all": $, "lit": "x", "n": 3, "t": true, "f": false, "z": null, "subject": $event.subject }',
  'email',
  'a.b',
  '$',
  '$count(missing)',
  'first_name & last_name',
  '{ "nested": { "deeper": { "id": $event.id & "-" & lead_id } } }',
];
const env = { id: 'evt_1', type: 'lead.created', time: '2026-01-01T00:00:00.000Z', source: 'urn:x' };
const ref = (expr: string, data: unknown) => jsonata(expr).evaluate(data, { event: { ...env, subject: undefined } });

/** The fast answer, or 'bail'. */
function fastAnswer(expr: string, data: unknown): unknown {
  const f = fastEvaluator(jsonata(expr).ast(), MAPPING_LIMITS);
  if (!f) throw new Error(`${expr} has no fast path`);
  try {
    return f(data, { event: { ...env, subject: undefined } });
  } catch (err) {
    if (err instanceof Bail) return 'bail';
    throw err;
  }
}

const SAMPLES: unknown[] = [
  { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', lead_id: 'l_1', source: 'web', tags: ['a', 'b'] },
  { email: null, first_name: 'Ada', tags: [], a: { b: { c: 7 } }, name: 'MiXeD' },
  { tags: ['only'], a: { b: [1, 2] } },
  { a: [{ b: 1 }, { b: 2 }] },
  { first_name: 1, last_name: 'x', source: 5 },
  { a: 'string', name: { x: 1 } },
  [{ email: 'x' }],
  'just a string',
  null,
  {},
];

describe('mapping fast path', () => {
  it('gives JSONata’s result, or bails, on hand-picked data', async () => {
    for (const expr of EXPRESSIONS) {
      for (const data of SAMPLES) {
        const fast = fastAnswer(expr, data);
        if (fast === 'bail') continue;
        const want = await ref(expr, data).catch(() => 'error');
        expect([expr, data, JSON.stringify(fast)]).toEqual([expr, data, JSON.stringify(want)]);
      }
    }
  });

  it('agrees with JSONata on generated data (or bails)', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
    );
    const data = fc.dictionary(
      fc.constantFrom('email', 'first_name', 'last_name', 'lead_id', 'source', 'tags', 'name', 'a'),
      fc.oneof(value, fc.dictionary(fc.constantFrom('b', 'c'), value)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...EXPRESSIONS), data, async (expr, d) => {
        const fast = fastAnswer(expr, d);
        if (fast === 'bail') return;
        const want = await ref(expr, d).catch(() => 'error');
        expect(JSON.stringify(fast)).toBe(JSON.stringify(want));
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('has no fast evaluator outside the subset; compileMapping says which', () => {
    for (const expr of [
      'items[price > 3]',
      '$sum(items.price)',
      'a ? b : c',
      '[a, b]',
      '{ "k": a }.k',
      'a.b[0]',
      '$string(a)',
      'a + 1',
      '{ "k": a, "k": b }',
    ]) {
      expect(fastEvaluator(jsonata(expr).ast(), MAPPING_LIMITS), expr).toBeNull();
    }
    expect(compileMapping(EXPRESSIONS[0] ?? '').fast).toBe(true);
    expect(compileMapping('$sum(items.price)').fast).toBe(false);
  });

  it('a bail falls back to JSONata through compileMapping (same answer, same errors)', async () => {
    const m = compileMapping('{ "n": first_name & last_name, "u": $uppercase(source) }');
    const e = (data: unknown) => m.evaluate({ ...env, data });
    expect(await e({ first_name: 1, last_name: 'x' })).toEqual({ ok: true, body: '{"n":"1x"}' });
    expect(await e({ first_name: 'a', last_name: 'b', source: 'web' })).toEqual({ ok: true, body: '{"n":"ab","u":"WEB"}' });
    const wrong = await e({ source: 5 });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.error.code).toBe('T0410');
    expect(await compileMapping('missing').evaluate({ ...env, data: {} })).toMatchObject({ ok: false, error: { class: 'empty' } });
  });
});
