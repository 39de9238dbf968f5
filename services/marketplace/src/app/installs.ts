import { NotFoundError, newId } from '@pep/runtime';
import { type CallMeta, marketplaceCommands, type UseCaseDeps } from './use-case-deps.ts';
import { decideInstall } from '../domain/install/decide.ts';
import { type InstallRecord, installAggregate, installKey } from '../domain/install/install.ts';
import { findListing } from '../projections/catalog/index.ts';

export type { CallMeta } from './use-case-deps.ts';

/** Install and uninstall: load the pair's aggregate → pure decide → append (the shared command bus). */
export function createInstallUseCases(opts: UseCaseDeps) {
  const { commands, meta } = marketplaceCommands(opts);

  return {
    /** Returns the active install and whether this call created it. */
    async install(listingId: string, customerId: string, m: CallMeta): Promise<{ install: InstallRecord; created: boolean }> {
      const listing = await findListing(opts.db, listingId, { includeRetired: true });
      if (!listing) throw new NotFoundError(`listing ${listingId} not found`);
      const now = opts.now();
      const res = await commands.execute(installAggregate, installKey(listingId, customerId), meta(listing.partner_id, m), (state) =>
        decideInstall(
          {
            type: 'InstallListing',
            listing: {
              listing_id: listing.listing_id,
              application_id: listing.application_id,
              partner_id: listing.partner_id,
              status: listing.status,
              unlisted: listing.unlisted,
            },
            customer_id: customerId,
            install_id: newId('ins', now.getTime()),
            by: m.by,
            now,
          },
          state,
        ),
      );
      return { install: res.state.active as InstallRecord, created: res.events.length > 0 };
    },

    /** Returns the removed install (the last one when it was already removed). */
    async uninstall(listingId: string, customerId: string, m: CallMeta): Promise<InstallRecord> {
      const snap = await commands.load(installAggregate, installKey(listingId, customerId));
      const partnerId = snap.state.last?.partner_id;
      if (!partnerId) throw new NotFoundError(`customer ${customerId} has no install of listing ${listingId}`);
      const now = opts.now();
      const res = await commands.execute(installAggregate, installKey(listingId, customerId), meta(partnerId, m), (state) =>
        decideInstall({ type: 'UninstallListing', listing_id: listingId, customer_id: customerId, by: m.by, now }, state),
      );
      return res.state.last as InstallRecord;
    },
  };
}
export type InstallUseCases = ReturnType<typeof createInstallUseCases>;
