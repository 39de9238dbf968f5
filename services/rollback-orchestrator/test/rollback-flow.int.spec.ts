import type { IncidentAcceptedSchema, IncidentSchema, PlatformEvent, RollbackPolicySchema } from '@pep/contracts';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { externalSubject, publishEvent } from '@pep/events';
import { newId } from '@pep/runtime';
import { type Page, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type ReferencePartner, startReferencePartner } from '../../../tools/conformance/src/reference-partner.ts';
import { admin, incidentBody, partnerPrincipal, startOrchestrator, statusOf } from './support/orchestrator.ts';

const names = testNames('rbk');
const PARTNER = 'prt_acme';
const OTHER = 'prt_other';
const TOKEN = 'partner-token-abcdef';
let partner: ReferencePartner;
let smtp: TestSmtpServer;
let o: Awaited<ReturnType<typeof startOrchestrator>>;

const me = partnerPrincipal(PARTNER);

/** What the orchestrator answers, as its contracts describe it. */
type Policy = z.output<typeof RollbackPolicySchema>;
type Accepted = z.output<typeof IncidentAcceptedSchema>;
type Incident = z.output<typeof IncidentSchema>;

async function createPolicy(customerId: string, over: Record<string, unknown> = {}) {
  return o.ok<Policy>('policies.create', me, {
    body: {
      customer_id: customerId,
      mode: 'auto',
      cooldown_minutes: 0,
      max_actions: 3,
      notify_emails: ['oncall@acme.example'],
      providers: [{ id: 'acme', kind: 'partner_webhook', base_url: partner.url, token: TOKEN }],
      journeys: [
        {
          funnel: 'checkout',
          flags: [
            { provider_id: 'acme', flag_key: `${customerId}-new-pay` },
            { provider_id: 'acme', flag_key: `${customerId}-promo` },
          ],
        },
      ],
      ...over,
    },
  });
}
const togglesOf = (incidentId: string) => partner.toggles.filter((t) => t.incident_id === incidentId);
const incident = (id: string) => o.ok<Incident>('incidents.get', me, { params: { id } });
const settled = (id: string, status = 'completed') =>
  waitUntil(
    async () => {
      const i = await incident(id).catch(() => undefined);
      return i?.rollback?.status === status ? i : undefined;
    },
    { what: `incident ${id} rollback ${status}`, timeoutMs: 20_000 },
  );

beforeAll(async () => {
  partner = await startReferencePartner({ token: TOKEN, failFirst: 0 });
  smtp = await startTestSmtpServer();
  o = await startOrchestrator(names, {
    SMTP_URL: smtp.url,
    INCIDENT_RATE_LIMIT_PER_MIN: '6',
    ACTION_TIMEOUT_MS: '3000',
    CLAIM_GRACE_MS: '0',
    RUN_ACK_WAIT_MS: '1500',
  });
});
afterAll(async () => {
  await o?.stop();
  await partner?.close();
  await smtp?.close();
});

describe('rollback orchestrator (real NATS, Postgres, Redis, SMTP and the reference partner)', () => {
  it('turns the suspected flag off once, records the run in the timeline and emails opening and outcome', async () => {
    const policy = await createPolicy('cus_a');
    expect(policy.providers[0]).toEqual({ id: 'acme', kind: 'partner_webhook', base_url: partner.url, token_set: true });
    const accepted = await o.ok<Accepted>('incidents.create', me, {
      body: incidentBody('inc-a1', 'cus_a', { suspects: { flags: ['cus_a-new-pay'] } }),
    });
    expect(accepted).toMatchObject({ incident_id: 'inc-a1', duplicate: false, status: 'executing', mode: 'auto' });
    expect(accepted.actions).toEqual([
      expect.objectContaining({ kind: 'flag_off', reason: 'suspect', flag_key: 'cus_a-new-pay', provider_id: 'acme' }),
    ]);

    const done = await settled('inc-a1');
    expect(togglesOf('inc-a1')).toEqual([expect.objectContaining({ flag_key: 'cus_a-new-pay', action: 'disable' })]);
    expect(partner.flags.get('cus_a-new-pay')).toBe(false);
    expect(done.rollback?.actions[0]).toMatchObject({ status: 'succeeded', attempts: 1, phase: 'rollback' });
    expect(done.timeline.map((t: { type: string }) => t.type)).toEqual([
      'incident.opened',
      'rollback.planned',
      'rollback.action_succeeded',
      'rollback.completed',
    ]);
    const audit = done.timeline[2];
    expect(audit?.details.request).toContain('Idempotency-Key');
    expect(audit?.details.response).toMatch(/^200 /);
    expect(audit?.details.request).not.toContain(TOKEN);

    const opened = await smtp.waitFor((m) => m.subject.includes('inc-a1') && m.subject.includes('critical'));
    expect(opened.to).toEqual(['oncall@acme.example']);
    const outcome = await smtp.waitFor((m) => m.subject.includes('Rollback completed for incident inc-a1'));
    expect(outcome.text).toContain('1 succeeded, 0 failed');
  });

  it('is idempotent on the incident id, through the API and through the stream', async () => {
    await createPolicy('cus_b');
    const body = incidentBody('inc-b1', 'cus_b', { suspects: { flags: ['cus_b-promo'] } });
    const first = await o.ok<Accepted>('incidents.create', me, { body });
    const again = await o.ok<Accepted>('incidents.create', me, { body });
    expect(again.duplicate).toBe(true);
    expect(again.actions).toEqual(first.actions);
    const ev: PlatformEvent = {
      specversion: '1.0',
      id: newId('evt'),
      source: 'pathcanary',
      type: 'pathcanary.incident.detected',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: PARTNER,
      data: body,
    };
    await publishEvent(o.bus, externalSubject(names.SUBJECT_PREFIX, PARTNER, ev.type), ev);
    await settled('inc-b1');
    // The re-delivered incident reached the intake worker; give it time to (not) act again.
    await new Promise((r) => setTimeout(r, 500));
    expect(togglesOf('inc-b1')).toHaveLength(1);
    expect((await incident('inc-b1')).timeline.filter((t: { type: string }) => t.type === 'incident.opened')).toHaveLength(1);
  });

  it('accepts pathcanary.incident.detected and .resolved from the stream, and turns the flag back on at resolve', async () => {
    await createPolicy('cus_c');
    const publish = (type: string, data: unknown) =>
      publishEvent(o.bus, externalSubject(names.SUBJECT_PREFIX, PARTNER, type), {
        specversion: '1.0',
        id: newId('evt'),
        source: 'pathcanary',
        type,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        schemaversion: 1,
        partnerid: PARTNER,
        data,
      });
    await publish('pathcanary.incident.detected', incidentBody('inc-c1', 'cus_c', { suspects: { flags: ['cus_c-new-pay'] } }));
    await settled('inc-c1');
    expect(partner.flags.get('cus_c-new-pay')).toBe(false);
    await publish('pathcanary.incident.resolved', { incident_id: 'inc-c1', reason: 'journey green again' });
    const restored = await waitUntil(async () => {
      const i = await incident('inc-c1');
      return i.rollback?.restored_at ? i : undefined;
    });
    expect(restored.status).toBe('resolved');
    expect(partner.flags.get('cus_c-new-pay')).toBe(true);
    expect(togglesOf('inc-c1').map((t) => t.action)).toEqual(['disable', 'enable']);
    expect(restored.rollback?.actions.map((a: { phase: string; kind: string; status: string }) => [a.phase, a.kind, a.status])).toEqual([
      ['restore', 'flag_on', 'succeeded'],
      ['rollback', 'flag_off', 'succeeded'],
    ]);
    expect(restored.timeline.at(-1)?.type).toBe('rollback.restored');
    await smtp.waitFor((m) => m.subject.includes('Incident inc-c1 resolved') && m.text.includes('turned back on'));
  });

  it('waits for approval in approval mode, and reports failed actions with their reason', async () => {
    await createPolicy('cus_d', { mode: 'approval' });
    const accepted = await o.ok<Accepted>('incidents.create', me, {
      body: incidentBody('inc-d1', 'cus_d', { suspects: { flags: ['cus_d-new-pay'] } }),
    });
    expect(accepted.status).toBe('awaiting_approval');
    await new Promise((r) => setTimeout(r, 300));
    expect(togglesOf('inc-d1')).toHaveLength(0);
    const approved = await o.ok<Accepted>('incidents.approve', me, { params: { id: 'inc-d1' } });
    expect(approved.status).toBe('executing');
    await settled('inc-d1');
    expect(togglesOf('inc-d1')).toHaveLength(1);
    expect(statusOf(await o.call('incidents.approve', me, { params: { id: 'inc-d1' } }))).toBe(202);

    // A provider with a wrong token: the partner answers 401, the action fails without retries.
    await createPolicy('cus_e', { providers: [{ id: 'acme', kind: 'partner_webhook', base_url: partner.url, token: 'wrong-token-123' }] });
    await o.ok<Accepted>('incidents.create', me, {
      body: incidentBody('inc-e1', 'cus_e', { suspects: { flags: ['cus_e-new-pay', 'cus_e-promo'] } }),
    });
    const failed = await settled('inc-e1', 'failed');
    expect(failed.rollback?.actions.map((a: { status: string; attempts: number }) => [a.status, a.attempts])).toEqual([
      ['failed', 1],
      ['failed', 1],
    ]);
    expect(failed.rollback?.actions[0]?.detail).toContain('partner answered 401');
    await smtp.waitFor((m) => m.subject.includes('Rollback failed for incident inc-e1'));
  });

  it('keeps tenants apart, validates policies, and limits intake per customer', async () => {
    expect(statusOf(await o.call('incidents.get', partnerPrincipal(OTHER), { params: { id: 'inc-a1' } }))).toBe(404);
    expect(statusOf(await o.call('incidents.get', admin, { params: { id: 'inc-a1' } }))).toBe(200);
    const others = await o.ok<Page<Policy>>('policies.list', partnerPrincipal(OTHER));
    expect(others.data).toEqual([]);
    // The same incident id from another partner is another incident.
    const theirs = await o.ok<Accepted>('incidents.create', partnerPrincipal(OTHER), { body: incidentBody('inc-a1', 'cus_a') });
    expect(theirs).toMatchObject({ duplicate: false, status: 'skipped', skipped_reason: 'no_policy' });

    const bad = await o.call('policies.create', me, {
      body: { customer_id: 'cus_x', journeys: [{ funnel: 'checkout', flags: [{ provider_id: 'nope', flag_key: 'f' }] }] },
    });
    expect(bad.ok ? null : bad.problem.errors).toEqual([expect.objectContaining({ path: 'journeys.0.flags.0.provider_id' })]);
    const ssrf = await o.call('policies.create', me, {
      body: {
        customer_id: 'cus_x',
        providers: [{ id: 'p', kind: 'partner_webhook', base_url: 'http://169.254.169.254/latest', token: 'abcdefgh12' }],
        journeys: [{ funnel: 'checkout' }],
      },
    });
    expect(ssrf.ok ? null : ssrf.problem.errors).toEqual([expect.objectContaining({ path: 'providers.0.base_url' })]);
    expect(
      statusOf(
        await createPolicy('cus_a')
          .then(() => ({ ok: true as const, status: 201, body: null }))
          .catch(() => ({ ok: false as const, problem: { type: '', title: '', status: 409 } })),
      ),
    ).toBe(409);

    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(statusOf(await o.call('incidents.create', me, { body: incidentBody(`inc-rl-${i}`, 'cus_rl') })));
    expect(statuses.slice(0, 6).every((s) => s === 202)).toBe(true);
    const limited = await o.call('incidents.create', me, { body: incidentBody('inc-rl-7', 'cus_rl') });
    expect(statusOf(limited)).toBe(429);
    expect(limited.ok ? null : limited.problem.retry_after).toBeGreaterThan(0);
    // Another customer of the same partner is not limited.
    expect(statusOf(await o.call('incidents.create', me, { body: incidentBody('inc-rl-other', 'cus_rl2') }))).toBe(202);
  });

  it('never repeats an effect when the service restarts and every run event is delivered again', async () => {
    const before = partner.toggles.length;
    await o.restart(async () => {
      // Forget where the saga's consumers were: on start they replay every event from the beginning.
      for (const d of ['rollback-orchestrator-runs', 'rollback-orchestrator-incidents', 'rollback-orchestrator-intake']) {
        await o.bus.jsm.consumers.delete(names.STREAM_NAME, d).catch(() => undefined);
      }
    });
    await waitUntil(async () => {
      const info = await o.bus.jsm.consumers.info(names.STREAM_NAME, 'rollback-orchestrator-runs').catch(() => undefined);
      return info && info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(partner.toggles.length).toBe(before);
  });

  it('does not toggle twice when the service dies after the partner toggled but before it heard back', async () => {
    const slow = await startReferencePartner({ token: TOKEN, replyDelayMs: 1500 });
    try {
      await createPolicy('cus_k', { providers: [{ id: 'acme', kind: 'partner_webhook', base_url: slow.url, token: TOKEN }] });
      await o.ok<Accepted>('incidents.create', me, { body: incidentBody('inc-k1', 'cus_k', { suspects: { flags: ['cus_k-new-pay'] } }) });
      await waitUntil(() => slow.toggles.length === 1 || undefined, { what: 'the partner to apply the toggle' });
      await o.restart(async () => undefined, 'SIGKILL');
      const done = await settled('inc-k1');
      expect(slow.toggles).toHaveLength(1);
      // The run was taken over after the claim's lease and the call repeated with the same Idempotency-Key.
      const keys = slow.requests.filter((r) => r.path === '/webhook/pathcanary').map((r) => r.idempotency_key);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      expect(new Set(keys).size).toBe(1);
      expect(done.rollback?.actions[0]).toMatchObject({ status: 'succeeded' });
    } finally {
      await slow.close();
    }
  });
});
