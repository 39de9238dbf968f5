// The baseline of bench/ingest: a bare node:http server that parses the JSON body and publishes it to
// JetStream awaiting the ack. No framework, no auth, no validation: the floor the gateway is compared with.
import { createServer } from 'node:http';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const port = Number(process.env.BASELINE_PORT ?? 0);
const subject = process.env.BASELINE_SUBJECT ?? 'bench.ext._.lead.created';
// Same client options as the gateway (no async stack traces per request), so the comparison is about the
// gateway's work, not a client setting.
const nc = await connect({ servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(','), noAsyncTraces: true });
const js = jetstream(nc);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    let event: { id?: unknown };
    try {
      event = JSON.parse(body.toString('utf8')) as { id?: unknown };
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"malformed json"}');
      return;
    }
    try {
      const ack = await js.publish(subject, body, { msgID: String(event.id) });
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: [{ id: event.id, seq: ack.seq, duplicate: ack.duplicate }] }));
    } catch (err) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', url: `http://127.0.0.1:${p}` })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void nc.drain().then(() => process.exit(0));
});
