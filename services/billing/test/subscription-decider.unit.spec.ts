import { type PlanDefinition, PlanDefinitionSchema, type PlanVersion } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decideInvoiceStatus, invoiceAggregate } from '../src/domain/invoice/invoice.ts';
import { decidePlan } from '../src/domain/plan/decide.ts';
import { evolvePlan } from '../src/domain/plan/plan.ts';
import { decideSubscription, type SubscriptionCommand } from '../src/domain/subscription/decide.ts';
import { evolveSubscription, initialSubscription, type SubscriptionState } from '../src/domain/subscription/subscription.ts';

const version = (p: unknown, v = 1): PlanVersion => ({ ...(PlanDefinitionSchema.parse(p) as PlanDefinition), version: v });
const monthly = (code: string, amount: number, v = 1) =>
  version({ code, name: code, currency: 'USD', model: 'flat_fee', interval: 'month', amount }, v);
const yearly = (code: string, amount: number) =>
  version({ code, name: code, currency: 'USD', model: 'flat_fee', interval: 'year', amount });
const usageOnly = version({
  code: 'metered',
  name: 'Metered',
  currency: 'USD',
  model: 'usage_based',
  charges: [{ meter: 'api_requests', tiering: 'package', package_size: 1000, package_amount: 100 }],
});
const basic = monthly('basic', 3000);
const pro = monthly('pro', 9000);

type SubscriptionEvent = ReturnType<typeof decideSubscription>[number];
const subscriptionSpec = deciderSpec<SubscriptionState, SubscriptionCommand, SubscriptionEvent>({
  decide: decideSubscription,
  evolve: evolveSubscription,
  initialState: initialSubscription,
});
const subscribe = (plan: PlanVersion, effectiveDate = '2030-11-01'): SubscriptionCommand => ({
  type: 'Subscribe',
  partnerId: 'prt_1x000000000000000000000000',
  subscriptionId: 'sub_1',
  plan,
  effectiveDate,
});
/** The events of a subscription started on this plan: the past most cases are given. */
const started = (plan: PlanVersion) => subscriptionSpec.given().when(subscribe(plan)).events();
const change = (
  current: PlanVersion,
  plan: PlanVersion,
  effectiveDate: string,
  timing: 'auto' | 'immediate' | 'period_end' = 'auto',
  scheduled?: PlanVersion,
): SubscriptionCommand => ({
  type: 'ChangePlan',
  current,
  plan,
  effectiveDate,
  timing,
  ...(scheduled ? { scheduled } : {}),
});

describe('subscription decider', () => {
  it('given nothing, when Subscribe, then subscription_started anchored on its effective date', () => {
    subscriptionSpec
      .given()
      .when(subscribe(basic))
      .thenEvents([
        {
          type: 'billing.subscription_started',
          data: {
            partner_id: 'prt_1x000000000000000000000000',
            subscription_id: 'sub_1',
            plan_code: 'basic',
            plan_version: 1,
            effective_date: '2030-11-01',
            interval: 'month',
            currency: 'USD',
          },
        },
      ]);
  });

  it('given a subscription, when Subscribe again, then a conflict', () => {
    subscriptionSpec.given(started(basic)).when(subscribe(pro)).thenThrows(ConflictError);
  });

  it('given nothing, when ChangePlan, then an illegal transition', () => {
    subscriptionSpec
      .given()
      .when(change(basic, pro, '2030-11-02'))
      .thenThrows(IllegalTransitionError);
  });

  it('given Basic, when changing to the same plan version, then nothing', () => {
    subscriptionSpec
      .given(started(basic))
      .when(change(basic, basic, '2030-11-10'))
      .thenEvents([]);
  });

  it('given Pro, when a downgrade with timing auto, then it is scheduled for the period end', () => {
    const events = subscriptionSpec
      .given(started(pro))
      .when(change(pro, basic, '2030-11-20'))
      .events();
    expect(events.map((e) => [e.type, e.data.effective_date])).toEqual([['billing.subscription_change_scheduled', '2030-12-01']]);
  });

  it('given Pro, when a downgrade asked immediate, then it applies at once with a net credit', () => {
    const [e] = subscriptionSpec
      .given(started(pro))
      .when(change(pro, basic, '2030-11-16', 'immediate'))
      .events();
    expect(e?.type).toBe('billing.subscription_plan_changed');
    expect(((e?.data.proration ?? []) as { amount: number }[]).map((l) => l.amount)).toEqual([-4500, 1500]);
  });

  it('given Basic, when an upgrade is asked for the period end, then it waits', () => {
    const events = subscriptionSpec
      .given(started(basic))
      .when(change(basic, pro, '2030-11-16', 'period_end'))
      .events();
    expect(events.map((e) => e.type)).toEqual(['billing.subscription_change_scheduled']);
  });

  it('given monthly Basic, when moving to a yearly plan, then the year starts on the change date', () => {
    // 400.00 a year is 33.33 a month: more than Basic's 30.00, so an upgrade, applied at once.
    const [e] = subscriptionSpec
      .given(started(basic))
      .when(change(basic, yearly('annual', 40_000), '2030-11-16'))
      .events();
    expect(e?.data).toMatchObject({ interval: 'year', anchor_date: '2030-11-16' });
    expect(((e?.data.proration ?? []) as { kind: string; amount: number }[]).map((l) => [l.kind, l.amount])).toEqual([
      ['proration_credit', -1500],
      ['flat_fee', 40_000],
    ]);
    // 300.00 a year is 25.00 a month: a downgrade, which waits for the period end.
    const later = subscriptionSpec
      .given(started(basic))
      .when(change(basic, yearly('cheap_annual', 30_000), '2030-11-16'))
      .events();
    expect(later.map((x) => x.type)).toEqual(['billing.subscription_change_scheduled']);
  });

  it('given a usage-only plan, when moving to a flat plan, then nothing to credit and the new fee for the remaining days', () => {
    const [e] = subscriptionSpec
      .given(started(usageOnly))
      .when(change(usageOnly, basic, '2030-11-16'))
      .events();
    expect(((e?.data.proration ?? []) as { kind: string; amount: number }[]).map((l) => [l.kind, l.amount])).toEqual([
      ['proration_charge', 1500],
    ]);
  });

  it('refuses a change dated before the current plan, or in another currency, naming the field', () => {
    const s = subscriptionSpec.given(started(basic));
    s.when(change(basic, pro, '2030-10-31')).thenThrows(ValidationError);
    const eur = version({ code: 'eur', name: 'EUR', currency: 'EUR', model: 'flat_fee', interval: 'month', amount: 1 });
    try {
      s.when(change(basic, eur, '2030-11-05')).events();
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).errors[0]?.path).toBe('plan_code');
    }
  });
});

describe('plan decider', () => {
  it('given nothing, when CreatePlan, then version 1; when publishing, then the next version; a second create conflicts', () => {
    let s = { versions: [] as PlanVersion[] };
    for (const e of decidePlan({ type: 'CreatePlan', plan: basic }, s)) s = evolvePlan(s, e);
    for (const e of decidePlan({ type: 'PublishPlanVersion', code: 'basic', plan: monthly('basic', 3500) }, s)) s = evolvePlan(s, e);
    expect(s.versions.map((v) => [v.version, (v as { amount: number }).amount])).toEqual([
      [1, 3000],
      [2, 3500],
    ]);
    expect(() => decidePlan({ type: 'CreatePlan', plan: basic }, s)).toThrow(ConflictError);
    expect(() => decidePlan({ type: 'PublishPlanVersion', code: 'other', plan: basic }, s)).toThrow(ValidationError);
  });
});

describe('invoice status decider', () => {
  const created = invoiceAggregate.evolve(invoiceAggregate.initial(), {
    type: 'billing.invoice_created',
    data: { invoice_id: 'inv_1', partner_id: 'prt_1x000000000000000000000000' },
  } as never);
  const after = (type: string) => invoiceAggregate.evolve(created, { type, data: { invoice_id: 'inv_1' } } as never);
  it('given a draft, when marked uncollectible, then an illegal transition; when voided, then voided', () => {
    expect(() => decideInvoiceStatus({ type: 'MarkUncollectible', invoiceId: 'inv_1', finalized: false }, created)).toThrow(
      IllegalTransitionError,
    );
    expect(decideInvoiceStatus({ type: 'VoidInvoice', invoiceId: 'inv_1' }, created).map((e) => e.type)).toEqual([
      'billing.invoice_voided',
    ]);
  });
  it('given a void invoice, voiding again decides nothing and uncollectible is refused', () => {
    const v = after('billing.invoice_voided');
    expect(decideInvoiceStatus({ type: 'VoidInvoice', invoiceId: 'inv_1' }, v)).toEqual([]);
    expect(() => decideInvoiceStatus({ type: 'MarkUncollectible', invoiceId: 'inv_1', finalized: true }, v)).toThrow(
      IllegalTransitionError,
    );
  });
  it('given an uncollectible invoice, it can still be voided', () => {
    const u = after('billing.invoice_marked_uncollectible');
    expect(decideInvoiceStatus({ type: 'MarkUncollectible', invoiceId: 'inv_1', finalized: true }, u)).toEqual([]);
    expect(decideInvoiceStatus({ type: 'VoidInvoice', invoiceId: 'inv_1' }, u).map((e) => e.type)).toEqual(['billing.invoice_voided']);
  });
});
