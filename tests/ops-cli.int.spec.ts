import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { AckPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { createTestBus, REPO_ROOT, serviceEnv, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm ops` as an operator pipes it: only the answer on stdout (JSON), every log line on stderr.
const names = testNames('ops');
let bus: Awaited<ReturnType<typeof createTestBus>>;
const durable = `ops-durable-${names.id}`;

function ops(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'scripts/ops.ts'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...serviceEnv(names) }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  bus = await createTestBus(names);
  const { jsm, nc } = bus.bus;
  await jsm.consumers.add(names.STREAM_NAME, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: `${names.SUBJECT_PREFIX}.agg.>`,
  });
  // An ephemeral consumer, like a projection's ordered reader: it has pending messages that are not lag.
  await jsm.consumers.add(names.STREAM_NAME, { ack_policy: AckPolicy.None, inactive_threshold: nanos(120_000) });
  await bus.bus.js.publish(`${names.SUBJECT_PREFIX}.agg.partner.prt_1`, new TextEncoder().encode('{}'));
  await nc.flush();
});
afterAll(async () => {
  await bus?.cleanup();
});

describe('pnpm ops', () => {
  it('lists durable consumers only, as JSON on stdout; --all adds the ephemeral ones', async () => {
    const r = await ops('consumers');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; durable: boolean; pending: number }[];
    expect(rows).toEqual([expect.objectContaining({ name: durable, durable: true, pending: 1 })]);

    const all = await ops('consumers', '--all');
    const everyRow = JSON.parse(all.stdout) as { name: string; durable: boolean }[];
    expect(everyRow).toHaveLength(2);
    expect(everyRow.filter((c) => !c.durable)).toHaveLength(1);
  });

  it('explains an unknown service with the known ones, and writes nothing on stdout', async () => {
    const r = await ops('projections', 'partner-registy');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown service "partner-registy"');
    expect(r.stderr).toMatch(/partner-registry.*rollback-orchestrator.*webhook-dispatcher/);
    expect(r.stderr).not.toMatch(/no subscribers|Empty response/);
  });

  it('says a known service is not answering (not a raw "no responders"), with Nest log lines on stderr only', async () => {
    const r = await ops('projections', 'partner-registry');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `partner-registry is not answering: nothing listens on ${names.RPC_PREFIX}.partner-registry.ops.projections`,
    );
    expect(r.stderr).toContain(`RPC_PREFIX ("${names.RPC_PREFIX}")`);
  });

  it('writes stream info as JSON that parses', async () => {
    const r = await ops('stream');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: names.STREAM_NAME, state: { messages: 1 } });
  });
});
