import { describe, expect, it } from 'vitest';
import {
  type DecodedMessage,
  NotAnEnvelopeError,
  type PlanContext,
  parseEnvelope,
  planBatch,
  stillBehind,
  watermarkCheck,
} from '../src/dispatch/batch-planner.ts';
import { deliveryId } from '../src/dispatch/delivery-id.ts';

interface Ep {
  row: { id: string; partner_id: string; event_types: string[] };
}
const ep = (id: string, types = ['lead.created']): Ep => ({ row: { id, partner_id: 'prt_acme', event_types: types } });

const message = (seq: number, type = 'lead.created', body = `{"n":${seq}}`): DecodedMessage<string> => ({
  msg: `m${seq}`,
  seq,
  storedAtMs: 1_700_000_000_000 + seq,
  envelope: {
    id: `evt_${seq}`,
    type,
    time: '2026-01-01T00:00:00Z',
    partnerid: 'prt_acme',
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  },
  body,
});

const context = (eps: Ep[], over: Partial<PlanContext<Ep>> = {}): PlanContext<Ep> => ({
  match: (e) => eps.filter((x) => x.row.event_types.includes(e.type)),
  room: () => 10,
  heldRoom: () => true,
  attemptBudget: 5,
  stopped: false,
  ...over,
});

describe('batch planner (pure)', () => {
  it('acks what no endpoint wants and plans one delivery per matching endpoint, with derived ids', () => {
    const a = ep('wep_a');
    const b = ep('wep_b', ['lead.created', 'lead.updated']);
    const plan = planBatch([message(1), message(2, 'lead.updated'), message(3, 'order.placed')], context([a, b]));
    expect(plan.unmatched).toEqual(['m3']);
    expect(plan.messages.map((m) => [m.msg, m.deliveries.map((d) => d.endpoint.row.id)])).toEqual([
      ['m1', ['wep_a', 'wep_b']],
      ['m2', ['wep_b']],
    ]);
    const first = plan.messages[0]?.deliveries[0];
    expect(first?.delivery).toEqual({
      id: deliveryId('wep_a', 1, '', 1_700_000_000_001),
      endpoint_id: 'wep_a',
      partner_id: 'prt_acme',
      event_seq: 1,
      event_id: 'evt_1',
      event_type: 'lead.created',
      event_time: '2026-01-01T00:00:00Z',
      replay_job_id: '',
      attempt_budget: 5,
      lease_ms: null,
      lease_token: null,
    });
    expect(plan.messages[0]?.event).toMatchObject({ seq: 1, id: 'evt_1', partner_id: 'prt_acme', body: '{"n":1}' });
  });

  it("holds a lane's deliveries up to its room; the rest become rows", () => {
    const a = ep('wep_a');
    const plan = planBatch([message(1), message(2), message(3)], context([a], { room: () => 2 }));
    expect(plan.messages.map((m) => m.deliveries[0]?.send)).toEqual([true, true, false]);
  });

  it('holds nothing when the lane has no room (circuit not closed), the process is at its limit, or it is stopping', () => {
    const a = ep('wep_a');
    const sends = (over: Partial<PlanContext<Ep>>) =>
      planBatch([message(1), message(2)], context([a], over)).messages.map((m) => m.deliveries[0]?.send);
    expect(sends({ room: () => 0 })).toEqual([false, false]);
    expect(sends({ stopped: true })).toEqual([false, false]);
    // Room for one more held delivery only: the planner counts what it has planned itself.
    expect(sends({ heldRoom: (extra) => extra < 1 })).toEqual([true, false]);
  });

  it('counts planned body bytes against the held limit', () => {
    const a = ep('wep_a');
    const asked: number[] = [];
    planBatch(
      [message(1, 'lead.created', 'x'.repeat(10)), message(2, 'lead.created', 'y'.repeat(5))],
      context([a], {
        heldRoom: (_extra, bytes) => {
          asked.push(bytes);
          return true;
        },
      }),
    );
    expect(asked).toEqual([10, 15]);
  });
});

describe('endpoint watermark check', () => {
  it('replans only when an endpoint event at or before the batch is newer than what the cache covers', () => {
    expect(watermarkCheck(10, 50, 10)).toBe('ok');
    expect(watermarkCheck(11, 50, 10)).toBe('replan');
    // An endpoint change after the batch's last message does not concern it.
    expect(watermarkCheck(60, 50, 50)).toBe('ok');
    expect(watermarkCheck(60, 50, 49)).toBe('replan');
    // Watermark unreadable (+Infinity): the batch is matched against an up-to-date read model.
    expect(watermarkCheck(Number.POSITIVE_INFINITY, 50, 40)).toBe('replan');
  });

  it('gives the batch back when the refreshed cache is still behind, unless the watermark was unreadable', () => {
    expect(stillBehind(30, 50, 29)).toBe(true);
    expect(stillBehind(30, 50, 30)).toBe(false);
    expect(stillBehind(Number.POSITIVE_INFINITY, 50, 0)).toBe(false);
  });
});

describe('envelope parsing', () => {
  it('accepts an envelope and names what is not one', () => {
    expect(parseEnvelope('{"id":"e","type":"t","time":"x"}')).toEqual({ id: 'e', type: 't', time: 'x' });
    expect(() => parseEnvelope('{"id":"e"}')).toThrow(NotAnEnvelopeError);
    expect(() => parseEnvelope('not json')).toThrow(NotAnEnvelopeError);
  });
});
