import { IllegalTransitionError, NotFoundError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { envelope } from './support/marketplace.ts';
import { decideInstall, type InstallCommand, type ListingForInstall } from '../src/domain/install/decide.ts';
import { evolveInstall, initialInstall, type InstallEvent, type InstallState, installKey } from '../src/domain/install/install.ts';

const listing: ListingForInstall = {
  listing_id: 'lst_1x000000000000000000000000',
  application_id: 'app_1x000000000000000000000000',
  partner_id: 'prt_1x000000000000000000000000',
  status: 'published',
};
const t0 = new Date('2026-12-01T10:00:00.000Z');
const t1 = new Date('2026-12-02T10:00:00.000Z');

const install = (over: Partial<Extract<InstallCommand, { type: 'InstallListing' }>> = {}): InstallCommand => ({
  type: 'InstallListing',
  listing,
  customer_id: 'cus_1',
  install_id: 'ins_1',
  by: 'key_adm1nx00000000000000000000',
  now: t0,
  ...over,
});
const uninstall = (now = t1): InstallCommand => ({
  type: 'UninstallListing',
  listing_id: 'lst_1x000000000000000000000000',
  customer_id: 'cus_1',
  by: 'key_adm1nx00000000000000000000',
  now,
});

/** given past events, when a command: the events it decides (or the error it throws). */
const installs = deciderSpec<InstallState, InstallCommand, InstallEvent>({
  decide: decideInstall,
  evolve: (s, e) => evolveInstall(s, envelope(e.type, e.data)),
  initialState: initialInstall,
});
const created = (id = 'ins_1', at = t0): InstallEvent => ({
  type: 'install.created',
  data: {
    install_id: id,
    listing_id: 'lst_1x000000000000000000000000',
    application_id: 'app_1x000000000000000000000000',
    partner_id: 'prt_1x000000000000000000000000',
    customer_id: 'cus_1',
    installed_at: at.toISOString(),
    installed_by: 'key_adm1nx00000000000000000000',
  },
});
const removed = (id = 'ins_1', at = t1): InstallEvent => ({
  type: 'install.removed',
  data: {
    install_id: id,
    listing_id: 'lst_1x000000000000000000000000',
    application_id: 'app_1x000000000000000000000000',
    partner_id: 'prt_1x000000000000000000000000',
    customer_id: 'cus_1',
    installed_at: t0.toISOString(),
    removed_at: at.toISOString(),
    removed_by: 'key_adm1nx00000000000000000000',
    reason: 'uninstalled',
  },
});

describe('install decider', () => {
  it('given nothing, when installing: install.created attributed to the listing partner', () => {
    expect(installs.given().when(install()).events()).toEqual([created()]);
  });

  it('given an active install, when installing again: nothing (idempotent)', () => {
    expect(
      installs
        .given([created()])
        .when(install({ install_id: 'ins_2' }))
        .events(),
    ).toEqual([]);
  });

  it('given an active install, when uninstalling: install.removed of that install', () => {
    expect(installs.given([created()]).when(uninstall()).events()).toEqual([removed()]);
  });

  it('given a removed install, when uninstalling again: nothing (idempotent)', () => {
    expect(installs.given([created(), removed()]).when(uninstall()).events()).toEqual([]);
  });

  it('given a removed install, when installing again: a new install with the new id', () => {
    const [e] = installs
      .given([created(), removed()])
      .when(install({ install_id: 'ins_2', now: t1 }))
      .events();
    expect(e).toMatchObject({ type: 'install.created', data: { install_id: 'ins_2', installed_at: t1.toISOString() } });
  });

  it('given nothing, when uninstalling: not found', () => {
    expect(installs.given().when(uninstall()).events).toThrow(NotFoundError);
  });

  it.each(['deprecated', 'retired'] as const)('given nothing, when installing a %s listing: refused', (status) => {
    expect(installs.given().when(install({ listing: { ...listing, status } })).events).toThrow(IllegalTransitionError);
  });

  it('given an active install of a listing deprecated since, when installing: nothing (it stays installed)', () => {
    expect(
      installs
        .given([created()])
        .when(install({ listing: { ...listing, status: 'deprecated' } }))
        .events(),
    ).toEqual([]);
  });
});

describe('install key', () => {
  it('is one subject-safe key per (listing, customer) pair', () => {
    expect(installKey('lst_1x000000000000000000000000', 'cus_1')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(installKey('lst_1x000000000000000000000000', 'cus_1')).toBe(installKey('lst_1x000000000000000000000000', 'cus_1'));
    expect(installKey('lst_1x000000000000000000000000', 'cus_2')).not.toBe(installKey('lst_1x000000000000000000000000', 'cus_1'));
    expect(installKey('lst_1cx00000000000000000000000', 'us_1')).not.toBe(installKey('lst_1x000000000000000000000000', 'cus_1'));
  });
});
