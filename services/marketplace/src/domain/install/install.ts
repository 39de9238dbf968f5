import { createHash } from 'node:crypto';
import type { PlatformEvent } from '@pep/contracts';

/**
 * The install aggregate: one per (listing, customer) pair, so every install and uninstall of a pair shares one
 * subject and the stream's expected-sequence check keeps at most one install active.
 */
export const INSTALL_AGGREGATE = 'install';

/** The aggregate id of a (listing, customer) pair: a subject-safe hash of both. */
export function installKey(listingId: string, customerId: string): string {
  return createHash('sha256').update(`${listingId}\n${customerId}`).digest('base64url').slice(0, 32);
}

export interface InstallRecord {
  install_id: string;
  listing_id: string;
  application_id: string;
  partner_id: string;
  customer_id: string;
  installed_at: string;
  removed_at: string | null;
}

export interface InstallState {
  /** The active install, if any. */
  active: InstallRecord | null;
  /** The most recent install (active or removed), if any. */
  last: InstallRecord | null;
  installs: number;
}

export type InstallEvent =
  | { type: 'install.created'; data: Omit<InstallRecord, 'removed_at'> & { installed_by: string } }
  | {
      type: 'install.removed';
      data: Omit<InstallRecord, 'removed_at'> & { removed_at: string; removed_by: string; reason: 'uninstalled' };
    };

/** Narrows a stored event to an install event by its type (the envelope was validated against the catalog). */
export function isInstallEvent<E extends { type: string; data: unknown }>(e: E): e is E & InstallEvent {
  return e.type === 'install.created' || e.type === 'install.removed';
}

export const initialInstall = (): InstallState => ({ active: null, last: null, installs: 0 });

export function evolveInstall(state: InstallState, event: PlatformEvent): InstallState {
  if (!isInstallEvent(event)) return state;
  if (event.type === 'install.created') {
    const d = event.data;
    const rec: InstallRecord = {
      install_id: d.install_id,
      listing_id: d.listing_id,
      application_id: d.application_id,
      partner_id: d.partner_id,
      customer_id: d.customer_id,
      installed_at: d.installed_at,
      removed_at: null,
    };
    return { active: rec, last: rec, installs: state.installs + 1 };
  }
  const last = state.active ? { ...state.active, removed_at: event.data.removed_at } : state.last;
  return { ...state, active: null, last };
}

export const installAggregate = {
  kind: INSTALL_AGGREGATE,
  initial: initialInstall,
  evolve: evolveInstall,
  projection: 'marketplace-installs',
};
