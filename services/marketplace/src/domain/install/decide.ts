import { IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { InstallEvent, InstallState } from './install.ts';

/** The listing as the install decider needs it (read from the catalog when the command is made). */
export interface ListingForInstall {
  listing_id: string;
  application_id: string;
  partner_id: string;
  status: 'published' | 'deprecated' | 'retired';
  /** Taken off the marketplace by its partner (listing.unlisted). */
  unlisted?: boolean;
}

export type InstallCommand =
  | {
      type: 'InstallListing';
      listing: ListingForInstall;
      customer_id: string;
      /** A fresh id, used only when a new install is created. */
      install_id: string;
      by: string;
      now: Date;
    }
  | { type: 'UninstallListing'; listing_id: string; customer_id: string; by: string; now: Date };

/**
 * Pure: the events a command causes on one (listing, customer) install aggregate. Installing while an install
 * is active and uninstalling what is not active decide nothing (idempotent); a deprecated or retired listing
 * takes no new installs.
 */
export function decideInstall(command: InstallCommand, state: InstallState): InstallEvent[] {
  switch (command.type) {
    case 'InstallListing': {
      if (state.active) return [];
      const l = command.listing;
      if (l.status !== 'published' || l.unlisted) {
        throw new IllegalTransitionError(`listing ${l.listing_id} is ${l.unlisted ? 'unlisted' : l.status} and takes no new installs`);
      }
      return [
        {
          type: 'install.created',
          data: {
            install_id: command.install_id,
            listing_id: l.listing_id,
            application_id: l.application_id,
            partner_id: l.partner_id,
            customer_id: command.customer_id,
            installed_at: command.now.toISOString(),
            installed_by: command.by,
          },
        },
      ];
    }
    case 'UninstallListing': {
      const a = state.active;
      if (!a) {
        if (state.last) return [];
        throw new NotFoundError(`customer ${command.customer_id} has no install of listing ${command.listing_id}`);
      }
      return [
        {
          type: 'install.removed',
          data: {
            install_id: a.install_id,
            listing_id: a.listing_id,
            application_id: a.application_id,
            partner_id: a.partner_id,
            customer_id: a.customer_id,
            installed_at: a.installed_at,
            removed_at: command.now.toISOString(),
            removed_by: command.by,
            reason: 'uninstalled',
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
