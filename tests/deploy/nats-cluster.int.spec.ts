import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { freePort, NATS_SERVER_BIN, portOpen, REPO_ROOT, testNames, waitJetStream, waitUntil } from '@pep/testing';
import { afterAll, describe, expect, it } from 'vitest';

// The 3-node cluster configuration (infra/nats/cluster/nats-{1,2,3}.conf) is started as written, with only its
// addresses and store moved to loopback ports and a temp folder, and the platform's stream is provisioned on it
// with STREAM_REPLICAS=3 by the same code the services run: an R3 stream with a leader and two current replicas.
const NODES = ['nats-1', 'nats-2', 'nats-3'];
const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'pep-nats-cluster-'));

afterAll(async () => {
  await Promise.all(
    procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }),
  );
  rmSync(dir, { recursive: true, force: true });
});

/** Replaces `from` with `to` exactly once: a config whose shape changed fails here instead of running on defaults. */
function once(text: string, from: string, to: string, file: string): string {
  const at = text.split(from).length - 1;
  expect(at, `${file}: expected "${from}" once`).toBe(1);
  return text.replace(from, to);
}

describe('NATS cluster configuration', () => {
  it('forms a 3-node JetStream cluster from the checked-in configs and holds an R3 stream', { timeout: 120_000 }, async () => {
    const ports = await Promise.all(NODES.map(async () => ({ client: await freePort(), http: await freePort(), route: await freePort() })));
    const logs = NODES.map(() => '');
    for (const [i, name] of NODES.entries()) {
      const file = `infra/nats/cluster/${name}.conf`;
      const p = ports[i] as { client: number; http: number; route: number };
      let conf = readFileSync(join(REPO_ROOT, file), 'utf8');
      expect(conf).toMatch(new RegExp(`^server_name: ${name}$`, 'm'));
      conf = once(conf, 'listen: 0.0.0.0:4222', `listen: 127.0.0.1:${p.client}`, file);
      conf = once(conf, 'http_port: 8222', `http: 127.0.0.1:${p.http}`, file);
      conf = once(conf, 'store_dir: "/data/jetstream"', `store_dir: "${join(dir, name)}"`, file);
      conf = once(conf, 'listen: 0.0.0.0:6222', `listen: 127.0.0.1:${p.route}`, file);
      for (const [j, other] of NODES.entries())
        conf = once(conf, `nats-route://${other}:6222`, `nats-route://127.0.0.1:${ports[j]?.route}`, file);
      const confFile = join(dir, `${name}.conf`);
      writeFileSync(confFile, conf);
      const child = spawn(NATS_SERVER_BIN, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (b: Buffer) => {
        logs[i] = `${logs[i]}${b.toString()}`.slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      procs.push(child);
    }
    for (const [i, p] of ports.entries()) {
      await waitUntil(
        async () => {
          const c = procs[i] as ChildProcess;
          if (c.exitCode !== null) throw new Error(`${NODES[i]} exited ${c.exitCode}:\n${logs[i]}`);
          return (await portOpen(p.client)) || undefined;
        },
        { timeoutMs: 20_000, what: `${NODES[i]} on ${p.client}` },
      );
    }
    const url = ports.map((p) => `nats://127.0.0.1:${p.client}`).join(',');
    await waitJetStream(url, 60_000);

    // Every node sees the other two as routes, under the cluster name of the config.
    for (const p of ports) {
      const routez = (await (await fetch(`http://127.0.0.1:${p.http}/routez`)).json()) as { num_routes: number };
      expect(routez.num_routes).toBeGreaterThanOrEqual(2);
    }

    const names = testNames('r3');
    const bus = await connectBus({ url, name: 'deploy-r3', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
    try {
      const settings = StreamSettingsSchema.parse({
        STREAM_NAME: names.STREAM_NAME,
        SUBJECT_PREFIX: names.SUBJECT_PREFIX,
        STREAM_REPLICAS: '3',
      });
      expect((await ensureStream(bus.jsm, settings)).created).toBe(true);
      const ack = await bus.js.publish(`${names.SUBJECT_PREFIX}.deploy.check`, new TextEncoder().encode('{"ok":true}'), { msgID: 'r3-1' });
      expect(ack.seq).toBe(1);
      const info = await waitUntil(
        async () => {
          const i = await bus.jsm.streams.info(names.STREAM_NAME);
          const replicas = i.cluster?.replicas ?? [];
          return i.cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current) ? i : undefined;
        },
        { timeoutMs: 30_000, what: 'an R3 stream with a leader and two current replicas' },
      );
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.name).toBe('platform');
      expect(new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)])).toEqual(new Set(NODES));
      expect(info.state.messages).toBe(1);
    } finally {
      await bus.jsm.streams.delete(names.STREAM_NAME).catch((err: Error) => console.error(`deleting ${names.STREAM_NAME}: ${err.message}`));
      await closeBus(bus);
    }
  });
});
