import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';

/**
 * A customer of the platform, as the platform's own product names it when it installs a listing for them.
 * Letters, digits, "_" and "-" so it can appear in a path and in a subject-safe install key.
 */
export const MarketplaceCustomerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only (1-64)')
  .describe('The platform customer the listing is installed for');

const common = { origin: 'domain', aggregate: 'install', category: 'marketplace' } as const;

/** Who and what an install is about; the same on every install event so a consumer needs no lookup. */
const installRef = {
  install_id: z.string().describe('One install: a new id each time a customer installs again after an uninstall'),
  listing_id: z.string(),
  application_id: z.string(),
  partner_id: z.string().describe("The listing's partner, to whom the customer is attributed for revenue share"),
  customer_id: z.string(),
};

export const InstallCreated = defineEvent({
  ...common,
  type: 'install.created',
  version: 1,
  description:
    'The platform installed a listing for one of its customers. One active install per (customer, listing); installing again while active changes nothing.',
  data: z.object({ ...installRef, installed_at: z.string(), installed_by: z.string().describe('Credential id of the caller') }),
});

export const InstallRemoved = defineEvent({
  ...common,
  type: 'install.removed',
  version: 1,
  description: "The platform uninstalled a customer's active install of a listing.",
  data: z.object({
    ...installRef,
    installed_at: z.string(),
    removed_at: z.string(),
    removed_by: z.string().describe('Credential id of the caller'),
    reason: z.enum(['uninstalled']),
  }),
});

export const marketplaceEvents = [InstallCreated, InstallRemoved] as const;
