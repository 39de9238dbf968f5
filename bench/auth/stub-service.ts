// A stand-in for the owning service of the benchmarked route: answers `<RPC_PREFIX>.<service>.<pattern>` at once
// the way @nestjs/microservices' ServerNats does, so the bench measures the gateway and nothing behind it.
import { connect } from '@nats-io/transport-node';

const subject = process.env.STUB_SUBJECT as string;
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-auth-stub' });
const dec = new TextDecoder();
nc.subscribe(subject, {
  callback: (_err, msg) => {
    const packet = JSON.parse(dec.decode(msg.data)) as { id: string };
    msg.respond(JSON.stringify({ id: packet.id, response: { ok: true, status: 202, body: { accepted: true } }, isDisposed: true }));
  },
});
await nc.flush();
process.stdout.write(`${JSON.stringify({ msg: 'stub ready', subject })}\n`);
process.on('SIGTERM', () => void nc.drain().then(() => process.exit(0)));
