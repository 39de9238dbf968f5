import type { ContactRole, Partner, PartnerStatus } from '@pep/contracts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const PARTNERS_PROJECTION = 'partners';

/** Row of the `partners` read model: the partner as the API shows it. */
export interface PartnersTable {
  id: string;
  name: string;
  type: Partner['type'];
  tier: Partner['tier'];
  contact_email: string;
  status: PartnerStatus;
  status_reason: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface PartnerContactsTable {
  id: string;
  partner_id: string;
  name: string;
  email: string;
  role: ContactRole;
  phone: string | null;
  created_at: string;
}

export interface PartnerAgreementsTable {
  id: string;
  partner_id: string;
  version: number;
  title: string;
  signed_at: string;
  signed_by: string;
  effective_at: string;
  expires_at: string | null;
  first_year_pct: number;
  renewal_pct: number;
  terms_url: string | null;
  supersedes: string | null;
  superseded_by: string | null;
}

export interface PartnersTables {
  partners: PartnersTable;
  partner_contacts: PartnerContactsTable;
  partner_agreements: PartnerAgreementsTable;
}
