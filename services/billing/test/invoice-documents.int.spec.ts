import { execFileSync } from 'node:child_process';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { aggregateSubject, createCommandBus, publishEvent } from '@pep/events';
import { createLogger } from '@pep/runtime';
import { testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordInvoicePaymentFailed } from '../src/app/invoice-payments.ts';
import { BILLING_CONTACTS_PROJECTION } from '../src/projections/contacts/index.ts';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { admin, envelope, partnerPrincipal, startBillingProcess, statusOf } from './support/billing.ts';

const names = testNames('billdoc');
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
let smtp: TestSmtpServer;
const P = () => names.SUBJECT_PREFIX;
const BERLIN = 'prt_d0cbe7x0000000000000000000';
const UTCP = 'prt_d0c7c0x0000000000000000000';
const FLAT = 'prt_d0cf1a7x000000000000000000';
const inv = (p: string, yyyymm: string) => `inv_${p}_${yyyymm}`;

type Invoice = {
  id: string;
  number: string;
  status: string;
  total: number;
  credited: number;
  amount_due: number;
  timezone: string;
  lines: { kind: string; amount: number; quantity: number; period: { start: string } }[];
  credit_notes: { number: string; amount: number }[];
};

const partnerCreated = (id: string, email: string, name: string) =>
  publishEvent(
    billing.bus,
    aggregateSubject(P(), 'partner', id),
    envelope('partner.created', { partner_id: id, name, type: 'technology', contact_email: email, tier: 'standard' }, { partnerid: id }),
  );
const rollup = (partner: string, minute: string, requests: number) =>
  publishEvent(
    billing.bus,
    aggregateSubject(P(), 'api_usage', partner),
    envelope('api_usage.rolled_up', { partner_id: partner, minute, reporter: 'gw1', requests }, { partnerid: partner, time: minute }),
  );
const pdfText = (bytes: Buffer) => execFileSync('pdftotext', ['-layout', '-', '-'], { input: bytes }).toString('utf8');

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  billing = await startBillingProcess(names, {
    SMTP_URL: smtp.url,
    MAIL_RETRY_BASE_MS: '200',
    MAIL_OUTBOX_POLL_MS: '50',
    MAIL_SEND_RATE_PER_MINUTE: '6000',
    EXECUTIVE_REPORT_RECIPIENTS: 'cfo@example.com, ceo@example.com',
    INVOICE_JOB_INTERVAL_MS: '0',
  });
  await partnerCreated(BERLIN, 'billing@berlin.example.com', 'Berlin GmbH');
  await partnerCreated(UTCP, 'ap@utc.example.com', 'UTC Ltd');
  await partnerCreated(FLAT, 'money@flat.example.com', 'Flat Inc');
  const perRequest = {
    code: 'per_request',
    name: 'Per request',
    currency: 'USD',
    model: 'usage_based',
    charges: [{ meter: 'api_requests', tiering: 'graduated', tiers: [{ up_to: null, unit_amount_decimal: '1' }] }],
  };
  expect(statusOf(await billing.call('plans.create', admin, { body: perRequest }))).toBe(201);
  const basic = { code: 'basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 3000 };
  expect(statusOf(await billing.call('plans.create', admin, { body: basic }))).toBe(201);
  for (const [p, plan] of [
    [BERLIN, 'per_request'],
    [UTCP, 'per_request'],
    [FLAT, 'basic'],
  ] as const)
    await billing.ok('subscription.create', admin, { body: { partner_id: p, plan_code: plan, effective_date: '2026-09-01' } });
  // Berlin is UTC+2 until Oct 25, UTC+1 after: its October is [Sep 30 22:00Z, Oct 31 23:00Z).
  for (const p of [BERLIN, UTCP]) {
    await rollup(p, '2026-09-30T21:00:00Z', 7); // September in Berlin and in UTC
    await rollup(p, '2026-09-30T22:00:00Z', 100); // October in Berlin, September in UTC
    await rollup(p, '2026-10-31T22:00:00Z', 20); // October in both
    await rollup(p, '2026-10-31T23:00:00Z', 1000); // November in Berlin, October in UTC
  }
  await billing.caughtUp(BILLING_CONTACTS_PROJECTION);
}, 300_000);
afterAll(async () => {
  await billing?.stop();
  await smtp?.close();
});

describe('invoice documents', () => {
  it('cuts the month in the partner billing time zone (settings route) and mails each invoice with its PDF, retrying a refused send', async () => {
    const set = await billing.ok<{ timezone: string }>('settings.update', admin, {
      body: { partner_id: BERLIN, timezone: 'Europe/Berlin' },
    });
    expect(set.timezone).toBe('Europe/Berlin');
    const bad = await billing.call('settings.update', admin, { body: { partner_id: BERLIN, timezone: 'Mars/Olympus' } });
    expect([statusOf(bad), JSON.stringify(bad).includes('timezone')]).toEqual([422, true]);
    expect((await billing.ok<{ timezone: string }>('settings.get', partnerPrincipal(UTCP))).timezone).toBe('UTC');
    expect(statusOf(await billing.call('settings.get', partnerPrincipal(UTCP), { query: { partner_id: BERLIN } }))).toBe(404);

    await billing.caughtUp(USAGE_PROJECTION);
    smtp.refuseNext(2);
    await billing.ok('invoices.run', admin, { body: { period: '2026-10' } });
    const berlin = await billing.ok<Invoice>('invoices.get', admin, { params: { id: inv(BERLIN, '202610') } });
    const utc = await billing.ok<Invoice>('invoices.get', admin, { params: { id: inv(UTCP, '202610') } });
    expect([berlin.total, berlin.timezone]).toEqual([120, 'Europe/Berlin']); // 100 + 20 requests at 1 cent
    expect([utc.total, utc.timezone]).toEqual([1020, 'UTC']); // 20 + 1000

    const mail = await smtp.waitFor((m) => m.to.includes('billing@berlin.example.com'), 30_000);
    expect(mail.subject).toContain(berlin.number);
    expect(mail.text).toContain('USD 1.20');
    expect(mail.html).toContain('Berlin GmbH');
    expect(mail.raw).not.toMatch(/^List-Unsubscribe:/im);
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([[`${berlin.number}.pdf`, 'application/pdf']]);
    const attached = pdfText(mail.attachments[0]?.content as Buffer);
    expect(attached).toContain(berlin.number);
    expect(attached).toContain('Total: USD 1.20');
    await smtp.waitFor((m) => m.to.includes('ap@utc.example.com'), 30_000);
    expect(smtp.refused).toBe(2);
    const outbox = () => billing.db.selectFrom('mail_outbox').select(['id', 'status', 'attempts']).where('kind', '=', 'invoice').execute();
    await waitUntil(async () => (await outbox()).every((r) => r.status === 'sent'), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'every invoice mail sent',
    });
    const rows = await billing.db.selectFrom('mail_outbox').select(['id', 'status', 'attempts']).where('kind', '=', 'invoice').execute();
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(rows.reduce((s, r) => s + r.attempts, 0)).toBe(2); // the two refused sends, each retried once
    expect(rows.find((r) => r.id === `invoice:${inv(FLAT, '202610')}`)).toBeDefined();
  });

  it('answers the invoice PDF to its partner only, with the number and total in its text', async () => {
    const id = inv(BERLIN, '202610');
    const reply = await billing.call('invoices.pdf', partnerPrincipal(BERLIN), { params: { id } });
    if (!reply.ok || !reply.file) throw new Error(`no file: ${JSON.stringify(reply)}`);
    expect(reply.file.content_type).toBe('application/pdf');
    const text = pdfText(Buffer.from(reply.file.base64, 'base64'));
    const number = (await billing.ok<Invoice>('invoices.get', admin, { params: { id } })).number;
    expect(reply.file.filename).toBe(`${number}.pdf`);
    expect(text).toContain(`Invoice ${number}`);
    expect(text).toContain('Total: USD 1.20');
    expect(text).toContain('Europe/Berlin');
    expect(statusOf(await billing.call('invoices.pdf', partnerPrincipal(UTCP), { params: { id } }))).toBe(404);
    const again = await billing.call('invoices.pdf', admin, { params: { id } });
    expect(again.ok && again.file?.base64 === reply.file.base64).toBe(true); // the same invoice renders to the same bytes
  });

  it('corrects a finalized invoice with credit notes up to its remaining total, never editing it', async () => {
    const id = inv(BERLIN, '202610');
    const body = { reason: 'goodwill', lines: [{ description: 'outage credit', amount: 100 }] };
    const created = await billing.call('credit-notes.create', admin, { params: { id }, body });
    expect(statusOf(created)).toBe(201);
    const over = await billing.call('credit-notes.create', admin, {
      params: { id },
      body: { ...body, lines: [{ description: 'x', amount: 21 }] },
    });
    expect([statusOf(over), JSON.stringify(over).includes('lines')]).toEqual([422, true]);
    expect(statusOf(await billing.call('credit-notes.create', partnerPrincipal(BERLIN), { params: { id }, body }))).toBe(403);
    const after = await billing.ok<Invoice>('invoices.get', partnerPrincipal(BERLIN), { params: { id } });
    expect([after.total, after.credited, after.amount_due, after.lines.length]).toEqual([120, 100, 20, 1]);
    expect(after.credit_notes.map((n) => [n.number, n.amount])).toEqual([[`${after.number}-CN1`, 100]]);
    const list = await billing.ok<{ data: { amount: number }[] }>('credit-notes.list', partnerPrincipal(BERLIN), { params: { id } });
    expect(list.data.map((n) => n.amount)).toEqual([100]);
    expect(statusOf(await billing.call('credit-notes.list', partnerPrincipal(UTCP), { params: { id } }))).toBe(404);
  });

  it('charges usage that arrived after its month was invoiced on the next invoice as a dated late_usage line', async () => {
    await rollup(BERLIN, '2026-10-15T12:00:00Z', 50);
    await billing.caughtUp(USAGE_PROJECTION);
    await billing.ok('invoices.run', admin, { body: { period: '2026-11' } });
    const oct = await billing.ok<Invoice>('invoices.get', admin, { params: { id: inv(BERLIN, '202610') } });
    const nov = await billing.ok<Invoice>('invoices.get', admin, { params: { id: inv(BERLIN, '202611') } });
    expect(oct.total).toBe(120); // finalized: never edited
    expect(nov.lines.map((l) => [l.kind, l.quantity, l.amount, l.period.start])).toEqual([
      ['usage', 1000, 1000, '2026-11-01'],
      ['late_usage', 50, 50, '2026-10-01'],
    ]);
    expect(nov.total).toBe(1050);
  });

  it('mails a failed payment with its retry schedule', async () => {
    const commands = createCommandBus({
      bus: billing.bus,
      logger: createLogger('test', 'warn'),
      projections: new Map(),
      source: 'urn:pep:test',
    });
    const deps = { db: billing.db, commands, settings: { INVOICE_ISSUER: 'platform' } };
    await recordInvoicePaymentFailed(deps, {
      invoiceId: inv(UTCP, '202610'),
      paymentRef: 'in_fail_1',
      attempt: 1,
      nextRetryAt: '2026-12-04T09:00:00Z',
      reason: 'card_declined',
    });
    const m = await smtp.waitFor((x) => x.subject.startsWith('Payment of invoice'), 30_000);
    expect(m.to).toEqual(['ap@utc.example.com']);
    expect(m.text).toContain('2026-12-04 09:00 UTC');
    expect(m.text).toContain('attempt 1');
  });

  it('forecasts MRR (a partner sees its own) and mails the executive report with the same figures', async () => {
    const f = await billing.ok<{ mrr: number; arr: number; partners: { partner_id: string }[]; forecast: { method: string } }>(
      'forecast.get',
      admin,
    );
    expect([f.mrr, f.arr, f.partners.map((p) => p.partner_id)]).toEqual([3000, 36_000, [FLAT]]);
    expect(f.forecast.method).toContain('least-squares');
    expect((await billing.ok<{ mrr: number }>('forecast.get', partnerPrincipal(BERLIN))).mrr).toBe(0);
    expect(statusOf(await billing.call('forecast.get', partnerPrincipal(BERLIN), { query: { partner_id: FLAT } }))).toBe(404);
    const sent = await billing.call('reports.executive.send', admin);
    expect(statusOf(sent)).toBe(202);
    expect(statusOf(await billing.call('reports.executive.send', partnerPrincipal(FLAT)))).toBe(403);
    const report = await smtp.waitFor((m) => m.subject.includes('executive report'), 30_000);
    expect(report.to.sort()).toEqual(['ceo@example.com', 'cfo@example.com']);
    expect(report.text).toContain('MRR: USD 30.00');
    expect(report.text).toContain('ARR: USD 360.00');
    expect(report.text).toContain(`1. ${FLAT}: USD 30.00`);
    expect(report.raw).toMatch(/^List-Unsubscribe:\s+<mailto:/im);
  });

  it('closes the current period now for one partner (demo) and mails it', async () => {
    const r = await billing.ok<{ invoice_id: string; number: string; total: number }>('invoices.close-now', admin, {
      body: { partner_id: FLAT },
    });
    expect(r.number).toMatch(/^PEP-\d{6}$/);
    expect(r.total).toBe(3000);
    await waitUntil(async () => smtp.messages.some((m) => m.subject.includes(r.number)), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'the mail',
    });
    expect(statusOf(await billing.call('invoices.close-now', admin, { body: { partner_id: 'prt_n0s5bx00000000000000000000' } }))).toBe(404);
    expect(await billing.ok('invoices.close-now', admin, { body: { partner_id: FLAT } })).toMatchObject({
      invoice_id: r.invoice_id,
      number: r.number,
    });
  });
});
