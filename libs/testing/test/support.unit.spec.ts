import { describe, expect, it } from 'vitest';
import { type ApiCall, at, bestEffort, deciderSpec, keysAt, listAt, newPartner, newPartnerBody } from '../src/index.ts';

// A two-state decider: the shape every service's deciders have (pure decide, evolve fold, initial state).
type State = { open: boolean };
type Command = { type: 'Open' } | { type: 'Close' };
type Event = { type: 'opened' } | { type: 'closed' };
class AlreadyError extends Error {}
const door = deciderSpec<State, Command, Event>({
  initialState: () => ({ open: false }),
  evolve: (_s, e) => ({ open: e.type === 'opened' }),
  decide: (c, s) => {
    if ((c.type === 'Open') === s.open) throw new AlreadyError(c.type);
    return [{ type: c.type === 'Open' ? 'opened' : 'closed' }];
  },
});

describe('deciderSpec (given/when/then)', () => {
  it('folds the given events and compares the decided ones', () => {
    door
      .given([])
      .when({ type: 'Open' })
      .thenEvents([{ type: 'opened' }]);
    door
      .given([{ type: 'opened' }])
      .when({ type: 'Close' })
      .thenEvents([{ type: 'closed' }]);
    expect(door.given([{ type: 'opened' }, { type: 'closed' }]).state).toEqual({ open: false });
  });

  it('fails when the events differ or the decider throws what was not expected', () => {
    expect(() =>
      door
        .given([])
        .when({ type: 'Open' })
        .thenEvents([{ type: 'closed' }]),
    ).toThrow();
    door
      .given([{ type: 'opened' }])
      .when({ type: 'Open' })
      .thenThrows(AlreadyError);
    expect(() => door.given([]).when({ type: 'Open' }).thenThrows()).toThrow();
  });
});

describe('json helpers', () => {
  const doc = { paths: { '/v1/x': { get: { parameters: [{ name: 'id' }] } } } };
  it('walk a parsed document and answer undefined (or empty) where the path ends', () => {
    expect(at(doc, 'paths', '/v1/x', 'get', 'parameters', 0, 'name')).toBe('id');
    expect(at(doc, 'paths', '/v1/y', 'get')).toBeUndefined();
    expect(at('text', 'length')).toBeUndefined();
    expect(keysAt(doc, 'paths')).toEqual(['/v1/x']);
    expect(listAt(doc, 'paths', '/v1/x', 'get', 'parameters')).toHaveLength(1);
    expect(listAt(doc, 'nothing')).toEqual([]);
  });
});

describe('factories', () => {
  it('newPartner creates, activates and keys a partner through whatever calls the API', async () => {
    const calls: [string, string, unknown][] = [];
    const api: ApiCall = async <T>(method: string, path: string, body?: unknown) => {
      calls.push([method, path, body]);
      return (path.endsWith('/api-keys') ? { id: 'key_1', key: 'pk_test_1' } : { id: 'prt_1' }) as T;
    };
    expect(await newPartner(api, 'Beta Co', { scopes: ['read:*'] })).toEqual({ id: 'prt_1', key: 'pk_test_1', keyId: 'key_1' });
    expect(calls).toEqual([
      ['POST', '/v1/partners', newPartnerBody('Beta Co')],
      ['POST', '/v1/partners/prt_1/activate', {}],
      ['POST', '/v1/partners/prt_1/api-keys', { name: 'main', scopes: ['read:*'] }],
    ]);
    expect(newPartnerBody('Beta Co').contact_email).toBe('ops@beta-co.example.com');
  });
});

describe('bestEffort', () => {
  it('reports a failed teardown step instead of throwing it, and says whether it succeeded', async () => {
    expect(await bestEffort('nothing', Promise.resolve())).toBe(true);
    expect(await bestEffort('a failing step', () => Promise.reject(new Error('gone')))).toBe(false);
  });
});
