import { createCommandBus, type EventBus, type ProjectionRunner } from '@pep/events';
import { type Logger, NotFoundError, newId } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { MarketplaceDB } from '../db/schema.ts';
import { decideInstall } from '../domain/install/decide.ts';
import { type InstallRecord, installAggregate, installKey } from '../domain/install/install.ts';
import { findListing } from '../projections/catalog/index.ts';
import { SOURCE } from './integration-events.ts';

export interface CallMeta {
  by: string;
  traceparent?: string | undefined;
  requestId?: string | undefined;
}

/** Install and uninstall: load the pair's aggregate → pure decide → append (the shared command bus). */
export function createInstallUseCases(opts: {
  bus: EventBus;
  db: Kysely<MarketplaceDB>;
  logger: Logger;
  projections: Map<string, ProjectionRunner>;
  now: () => Date;
}) {
  const commands = createCommandBus({ bus: opts.bus, logger: opts.logger, projections: opts.projections, source: SOURCE, now: opts.now });
  const meta = (partnerId: string, m: CallMeta) => ({ partnerId, traceparent: m.traceparent, correlationId: m.requestId });

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
