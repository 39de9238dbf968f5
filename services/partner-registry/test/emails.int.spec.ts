import type { Application, Partner } from '@pep/contracts';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry } from './support/registry.ts';

const names = testNames('mail');
let reg: Registry;
let smtp: TestSmtpServer;
let partner: Partner;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  reg = await startRegistry(
    names,
    {
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Platform <noreply@platform.test>',
      KEY_EXPIRY_WARNING_DAYS: '7',
      KEY_EXPIRY_SCAN_INTERVAL_MS: '600000',
    },
    { background: true },
  );
  const p = await reg.ok<Partner>('partners.create', admin, {
    body: { name: 'Mailed', type: 'technology', contact_email: 'fallback@mailed.test' },
  });
  partner = await reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  await reg.ok('partners.contacts.add', admin, {
    params: { id: p.id },
    body: { name: 'Tech', email: 'tech@mailed.test', role: 'technical' },
  });
  await reg.ok('partners.contacts.add', admin, {
    params: { id: p.id },
    body: { name: 'Boss', email: 'boss@mailed.test', role: 'primary' },
  });
  await reg.ok('partners.contacts.add', admin, {
    params: { id: p.id },
    body: { name: 'Bill', email: 'bill@mailed.test', role: 'billing' },
  });
});
afterAll(async () => {
  await reg?.stop();
  await smtp?.close();
});

describe('partner emails over real SMTP', () => {
  it('mails every application status change to the primary and technical contacts, text and HTML', async () => {
    const me = partnerPrincipal(partner.id);
    const app = await reg.ok<Application>('applications.create', me, {
      body: {
        name: 'Mail <app>',
        description: 'd',
        webhook_url: 'https://127.0.0.1/h',
        privacy_url: 'https://m.test/p',
        terms_url: 'https://m.test/t',
      },
    });
    await reg.ok('applications.submit', me, { params: { id: app.id } });
    await reg.ok('applications.start-review', admin, { params: { id: app.id } });
    await reg.ok('applications.request-changes', admin, { params: { id: app.id }, body: { note: 'Webhook must be public' } });

    const submitted = await smtp.waitFor((m) => m.subject === 'Your application "Mail <app>" is submitted for review');
    expect(submitted.to.sort()).toEqual(['boss@mailed.test', 'tech@mailed.test']);
    expect(submitted.text).toContain('webhook_url_public');
    expect(submitted.html).toContain('Mail &lt;app&gt;');
    const changes = await smtp.waitFor((m) => m.subject.endsWith('is waiting for changes'));
    expect(changes.text).toContain('Reviewer note: Webhook must be public');
    expect(changes.html).toContain('Webhook must be public');
    await smtp.waitFor((m) => m.subject.endsWith('is in review'));
    // One mail per status change, never one for the billing contact.
    await new Promise((r) => setTimeout(r, 300));
    const forApp = smtp.messages.filter((m) => m.subject.includes('Mail <app>'));
    expect(forApp).toHaveLength(3);
    expect(smtp.messages.some((m) => m.to.includes('bill@mailed.test'))).toBe(false);
  });

  it('warns about API keys expiring within the warning window, once', async () => {
    const soon = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await reg.ok('api-keys.create', admin, { params: { id: partner.id }, body: { name: 'ci key', scopes: ['read:*'], expires_at: soon } });
    await reg.ok('api-keys.create', admin, {
      params: { id: partner.id },
      body: { name: 'far key', scopes: ['read:*'], expires_at: later },
    });
    const notifications = reg.runtime.notifications();
    if (!notifications) throw new Error('notifications are not running');
    await notifications.scanKeys();
    await notifications.scanKeys();
    const warning = await smtp.waitFor((m) => m.subject.startsWith('API key "ci key" expires in 2 day'));
    expect(warning.to.sort()).toEqual(['boss@mailed.test', 'tech@mailed.test']);
    expect(warning.text).toContain(soon);
    expect(warning.html).toContain('<strong>ci key</strong>');
    expect(smtp.messages.filter((m) => m.subject.includes('"ci key"'))).toHaveLength(1);
    expect(smtp.messages.some((m) => m.subject.includes('far key'))).toBe(false);
  });
});
