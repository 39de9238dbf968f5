import { type Projection, type ProjectionTables, projectionTables } from '@pep/events';
import { describe, expect, it } from 'vitest';
import { billingProjections } from '../services/billing/src/service.ts';
import { identityProjection } from '../services/gateway/src/identity/identity-projection.ts';
import { bridgeProjections } from '../services/github-bridge/src/service.ts';
import { marketplaceProjections } from '../services/marketplace/src/service.ts';
import { registryProjections } from '../services/partner-registry/src/service.ts';
import { orchestratorProjections } from '../services/rollback-orchestrator/src/service.ts';
import { endpointsProjection } from '../services/webhook-dispatcher/src/projections/endpoints/index.ts';
import { integrationMappingsProjection } from '../services/webhook-dispatcher/src/projections/integration-mappings/index.ts';

// Issue 16.5: every projection of every service can be rebuilt beside the live one. Its tables are declared or
// inferred from what its reset empties (a dry run: nothing is executed); a table one projection empties whole is
// its own, so no other projection of the same service may write it; a table emptied only in part is shared.
const p = 'unit';
type Found = { name: string; found: ProjectionTables };
const infer = <DB>(ps: Projection<DB>[]): Promise<Found[]> =>
  Promise.all(ps.map(async (x) => ({ name: x.name, found: await projectionTables(x) })));
const services: Record<string, () => Promise<Found[]>> = {
  'partner-registry': () => infer(registryProjections(p)),
  'webhook-dispatcher': async () => [...(await infer([endpointsProjection(p)])), ...(await infer([integrationMappingsProjection(p)]))],
  'rollback-orchestrator': () => infer(orchestratorProjections(p)),
  'github-bridge': () => infer(bridgeProjections(p)),
  marketplace: () => infer(marketplaceProjections(p)),
  billing: () => infer(billingProjections(p)),
  gateway: () => infer([identityProjection(p)]),
};

describe('the tables of every projection, for a rebuild beside the live one', () => {
  for (const [service, projections] of Object.entries(services))
    it(`${service}: each projection has tables, none owned twice, a shared one owned by none`, async () => {
      const owners = new Map<string, string>();
      const shared = new Set<string>();
      for (const { name, found } of await projections()) {
        expect([...found.owned, ...found.shared].length, `${name} has no table to rebuild`).toBeGreaterThan(0);
        for (const t of found.owned) {
          expect(owners.get(t), `${t} emptied whole by ${owners.get(t)} and ${name}`).toBeUndefined();
          owners.set(t, name);
        }
        for (const t of found.shared) shared.add(t);
        // What a shared table's reset deletes is replayed on a copy at the switch: it names the table unqualified.
        for (const d of found.partial) expect(d.table).not.toContain('.');
      }
      for (const t of shared) expect(owners.get(t), `${t} is shared yet emptied whole by ${owners.get(t)}`).toBeUndefined();
    });

  it('reads the rollback orchestrator’s shared timeline as shared (its incidents and runs each delete their own rows)', async () => {
    const all = new Map((await services['rollback-orchestrator']?.())?.map((x) => [x.name, x.found]));
    expect(all.get('incidents')).toMatchObject({ owned: ['incidents'], shared: ['timeline'] });
    expect(all.get('rollback-runs')?.shared).toEqual(['timeline']);
  });
});
