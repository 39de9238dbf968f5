import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, InvalidSecretError, signWebhook, verifyWebhook, WebhookVerificationError } from '../src/index.ts';

const body = JSON.stringify({ id: 'evt_1', type: 'lead.created', data: { name: 'Zoë' } });

describe('Standard Webhooks signing', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(() => generateSecret(8)).toThrow(InvalidSecretError);
  });

  it('produces headers the standardwebhooks package verifies', () => {
    const secret = generateSecret();
    const headers = signWebhook({ id: 'msg_1', timestamp: new Date(), body, secrets: [secret] });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('matches the reference signature byte for byte', () => {
    const secret = generateSecret();
    const ts = new Date(1_700_000_000_000);
    const ours = signWebhook({ id: 'msg_2', timestamp: ts, body, secrets: [secret] });
    expect(ours['webhook-signature']).toBe(new Webhook(secret).sign('msg_2', ts, body));
    expect(ours['webhook-timestamp']).toBe('1700000000');
  });

  it('signs with every valid secret, space-separated, so either key verifies (rotation)', () => {
    const oldS = generateSecret();
    const newS = generateSecret();
    const headers = signWebhook({ id: 'msg_3', timestamp: new Date(), body, secrets: [newS, oldS] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldS).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newS).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow();
  });

  it('verifyWebhook accepts reference signatures and rejects tampering, wrong keys and stale timestamps', () => {
    const secret = generateSecret();
    const now = new Date();
    const sig = new Webhook(secret).sign('msg_4', now, body);
    const headers = { 'webhook-id': 'msg_4', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': sig };
    expect(verifyWebhook({ headers, body, secrets: [secret] })).toEqual({ id: 'msg_4', timestamp: Math.floor(now.getTime() / 1000) });
    expect(() => verifyWebhook({ headers, body: `${body} `, secrets: [secret] })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ headers, body, secrets: [generateSecret()] })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ headers: { ...headers, 'webhook-id': 'msg_5' }, body, secrets: [secret] })).toThrow(
      WebhookVerificationError,
    );
    expect(() => verifyWebhook({ headers, body, secrets: [secret], now: new Date(now.getTime() + 10 * 60_000) })).toThrow(/tolerance/);
    expect(() => verifyWebhook({ headers: { 'webhook-id': 'x' }, body, secrets: [secret] })).toThrow(/missing/);
  });

  it('verifyWebhook finds the valid signature among several and ignores unknown versions', () => {
    const secret = generateSecret();
    const h = signWebhook({ id: 'msg_6', timestamp: new Date(), body, secrets: [generateSecret(), secret] });
    const headers = { ...h, 'webhook-signature': `v2,abc ${h['webhook-signature']}` };
    expect(() => verifyWebhook({ headers, body, secrets: [secret] })).not.toThrow();
  });
});
