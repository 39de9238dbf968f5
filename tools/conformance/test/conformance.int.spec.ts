import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runConformance } from '../src/checks.ts';
import { type ReferencePartner, startReferencePartner } from '../src/reference-partner.ts';

let partner: ReferencePartner;
beforeAll(async () => {
  partner = await startReferencePartner({ token: 'ref-token-123456' });
});
afterAll(async () => {
  await partner?.close();
});

/** A partner that ignores auth, re-toggles on replays and answers errors as plain text. */
async function startSloppyPartner() {
  let enabled = true;
  const srv = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ enabled }));
      return;
    }
    const body = JSON.parse(raw || '{}') as { flag_key?: string; action?: string };
    if (!body.flag_key) {
      res.writeHead(400).end('bad');
      return;
    }
    enabled = body.action === 'enable';
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise((r) => srv.close(r)) };
}

describe('partner conformance kit', () => {
  it('passes the reference partner on every check and leaves its flag enabled', async () => {
    const report = await runConformance({ baseUrl: partner.url, token: 'ref-token-123456', calls: 20 });
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['auth', 'pass'],
      ['toggle', 'pass'],
      ['idempotency', 'pass'],
      ['errors', 'pass'],
      ['latency', 'pass'],
      ['success_rate', 'pass'],
    ]);
    expect(report.passed).toBe(true);
    expect(report.success_rate).toBe(1);
    expect(partner.flags.get('pathcanary-conformance-check')).toBe(true);
    const text = formatReport(report);
    expect(text).toContain('Verdict: CONFORMANT');
    expect(text).toMatch(/PASS {2}A replayed Idempotency-Key does not toggle twice/);
  });

  it('fails a partner that skips auth, toggles twice on a replay and has no error shape', async () => {
    const sloppy = await startSloppyPartner();
    try {
      const report = await runConformance({ baseUrl: sloppy.url, token: 'whatever-123', calls: 5 });
      const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
      expect(status.auth).toBe('fail');
      expect(status.idempotency).toBe('fail');
      expect(status.errors).toBe('warn');
      expect(report.passed).toBe(false);
      expect(formatReport(report)).toContain('NOT CONFORMANT');
    } finally {
      await sloppy.close();
    }
  });

  it('reports a partner slower than the limit as failing latency and success rate', async () => {
    const slow = await startReferencePartner({ token: 'slow-token-1234', latencyMs: 400 });
    try {
      const report = await runConformance({ baseUrl: slow.url, token: 'slow-token-1234', calls: 2, limitMs: 300 });
      expect(report.checks.find((c) => c.id === 'latency')?.status).toBe('fail');
      expect(report.checks.find((c) => c.id === 'success_rate')?.status).toBe('fail');
    } finally {
      await slow.close();
    }
  });
});
