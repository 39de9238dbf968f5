import type { PlatformTables } from '@pep/db';
import type { PricingPlan } from '@pep/contracts';
import type { ColumnType } from 'kysely';

export interface MarketplaceTables {
  /** What the catalog needs to know of partners (from partner.created / partner.updated). */
  partners: { partner_id: string; name: string; type: string };
  /** One row per application that was ever published; retired ones stay with status `retired` (unlisted). */
  listings: {
    listing_id: string;
    application_id: string;
    partner_id: string;
    name: string;
    tagline: string | null;
    description: string;
    categories: ColumnType<string[], string[] | undefined, string[]>;
    pricing: string | null;
    official: boolean;
    status: 'published' | 'deprecated' | 'retired';
    status_reason: string | null;
    privacy_url: string | null;
    terms_url: string | null;
    published_at: ColumnType<Date, string, string>;
    updated_at: ColumnType<Date, string, string>;
    /** Stream sequence of the last application event applied. */
    version: number;
    logo_url: string | null;
    screenshots: ColumnType<string[], string[] | undefined, string[]>;
    support_email: string | null;
    documentation_url: string | null;
    /** The listing's pricing plans as its content states them (JSON array of PricingPlan). */
    pricing_plans: ColumnType<PricingPlan[], string | undefined, string>;
    /** When the listing's own content last went live (null: only the application's snapshot so far). */
    content_published_at: ColumnType<Date | null, string | null | undefined, string | null>;
    featured_from: ColumnType<Date | null, string | null | undefined, string | null>;
    featured_until: ColumnType<Date | null, string | null | undefined, string | null>;
    /** Taken off the marketplace by its partner or an admin (listing.unlisted): hidden like a retired one. */
    unlisted: ColumnType<boolean, boolean | undefined, boolean>;
    /** The description rendered from Markdown (domain/listing/markdown.ts) when the catalog applied it. */
    description_html: ColumnType<string, string | undefined, string>;
    /** Generated: weighted tsvector (name A, tagline B, description C). */
    search_doc: ColumnType<string, never, never>;
  };
  installs: {
    install_id: string;
    listing_id: string;
    application_id: string;
    partner_id: string;
    customer_id: string;
    active: boolean;
    installed_at: ColumnType<Date, string, string>;
    removed_at: ColumnType<Date | null, string | null, string | null>;
    seq: number;
  };
  /** Per listing: install counts and the trending weight (see domain/listing/trending.ts). */
  listing_stats: {
    listing_id: string;
    active_installs: number;
    total_installs: number;
    trend_weight: number;
    updated_seq: number;
  };
  reviews: {
    review_id: string;
    listing_id: string;
    partner_id: string;
    customer_id: string;
    rating: number;
    body: string;
    edits: number;
    response_body: string | null;
    responded_at: ColumnType<Date | null, string | null, string | null>;
    response_updated_at: ColumnType<Date | null, string | null, string | null>;
    submitted_at: ColumnType<Date, string, string>;
    updated_at: ColumnType<Date, string, string>;
    seq: number;
    hidden: ColumnType<boolean, boolean | undefined, boolean>;
    hidden_reason: ColumnType<string | null, string | null | undefined, string | null>;
    reports: ColumnType<number, number | undefined, number>;
  };
  /** Distinct lower-case words of listing names and taglines (typo correction; trigram GiST index). */
  search_words: { word: string };
  /** One row (id 1): every visible review's count and rating sum (the marketplace mean, C). */
  rating_totals: { id: number; review_count: ColumnType<number, number, number>; rating_sum: ColumnType<number, number, number> };
  /** Latest health of each integration (integration.connected / failed / health_checked on the registry's subjects). */
  integration_health: { integration_id: string; application_id: string; status: string; seq: number };
  /** The admin-managed category list (from marketplace.category_* events). */
  categories: { slug: string; name: string; parent: string | null; seq: number };
  listing_ratings: {
    listing_id: string;
    review_count: number;
    rating_sum: number;
    r1: number;
    r2: number;
    r3: number;
    r4: number;
    r5: number;
  };
}
export type MarketplaceDB = MarketplaceTables & PlatformTables;
