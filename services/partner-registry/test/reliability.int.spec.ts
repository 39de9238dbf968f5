import type { Partner } from '@pep/contracts';
import { aggregateSubject, appendToAggregate, publishEvent } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandBus } from '../src/app/command-bus.ts';
import { decidePartner } from '../src/domain/partner/decide.ts';
import { findPartner } from '../src/projections/partners/index.ts';
import { partnerAggregate } from '../src/domain/partner/aggregate.ts';
import { createLogger, ConflictError } from '@pep/runtime';
import { admin, type Registry, startRegistry } from './support/registry.ts';
import { envelope, readAll } from './support/stream.ts';

const names = testNames('prtrel');
let reg: Registry;
beforeAll(async () => {
  reg = await startRegistry(names);
});
afterAll(async () => {
  await reg?.stop();
});

describe('partner-registry reliability', () => {
  it('stores the same event id once, even when the append is retried', async () => {
    const subject = aggregateSubject(names.SUBJECT_PREFIX, 'partner', 'prt_dup1');
    const e = envelope('partner.created', {
      partner_id: 'prt_dup1',
      name: 'Dup',
      type: 'reseller',
      contact_email: 'd@dup.test',
      tier: 'standard',
    });
    const [first] = await appendToAggregate(reg.bus, subject, 0, [e]);
    // A client that lost the ack retries the very same append (same id, same expected sequence).
    const [again] = await appendToAggregate(reg.bus, subject, 0, [e]);
    expect(again?.duplicate).toBe(true);
    expect(again?.seq).toBe(first?.seq);
    // A plain publish of the same id is deduplicated too.
    const third = await publishEvent(reg.bus, subject, e);
    expect(third).toMatchObject({ duplicate: true, seq: first?.seq });
    const onSubject = (await readAll(reg.bus, subject)).filter((x) => x.id === e.id);
    expect(onSubject).toHaveLength(1);
    await reg.projections.get('partners')?.waitFor();
    expect(await findPartner(reg.db, 'prt_dup1')).toMatchObject({ name: 'Dup', version: first?.seq });
  });

  it('two concurrent commands on one partner: one wins, the other is re-decided on fresh state or gets 409; no update is lost', async () => {
    const logger = createLogger('test', 'silent');
    // Two "replicas": separate command buses (separate aggregate caches) on the same stream.
    const replicaA = createCommandBus({ bus: reg.bus, logger, projections: reg.projections });
    const replicaB = createCommandBus({ bus: reg.bus, logger, projections: reg.projections });
    let decisions = 0;
    let commandsSent = 0;
    let retried = 0;
    for (let round = 0; round < 6; round++) {
      const p = await reg.ok<Partner>('partners.create', admin, {
        body: { name: `C${round}`, type: 'strategic', contact_email: 'c@c.test' },
      });
      const run = (bus: typeof replicaA, change: { name?: string; contact_email?: string }) => {
        commandsSent++;
        return bus
          .execute(partnerAggregate, p.id, { partnerId: p.id }, (s) => {
            decisions++;
            return decidePartner({ type: 'UpdatePartner', data: { partner_id: p.id, ...change } }, s);
          })
          .then(
            (r) => ({ ok: true as const, state: r.state }),
            (err: unknown) => {
              if (err instanceof ConflictError) return { ok: false as const };
              throw err;
            },
          );
      };
      const [a, b] = await Promise.all([
        run(replicaA, { name: `renamed ${round}` }),
        run(replicaB, { contact_email: `new${round}@c.test` }),
      ]);
      const events = (await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'partner', p.id))).filter(
        (e) => e.type === 'partner.updated',
      );
      expect(events).toHaveLength(Number(a.ok) + Number(b.ok));
      const final = await findPartner(reg.db, p.id);
      expect(final?.name).toBe(a.ok ? `renamed ${round}` : `C${round}`);
      expect(final?.contact_email).toBe(b.ok ? `new${round}@c.test` : 'c@c.test');
      if (a.ok && b.ok) expect(b.state).toBeDefined();
    }
    retried = decisions - commandsSent;
    // Both replicas load the same version concurrently, so at least one round must have conflicted and been retried.
    expect(retried).toBeGreaterThan(0);
  });
});
