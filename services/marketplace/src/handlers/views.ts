import type { Install, Listing, ListingDraft, Review } from '@pep/contracts';
import type { InstallRecord } from '../domain/install/install.ts';
import { checklist } from '../domain/listing/checklist.ts';
import type { ListingAggregateState } from '../domain/listing/listing-aggregate.ts';
import { trendingScore } from '../domain/listing/trending.ts';
import { bayesianRating, plainMean } from '../domain/review/rating.ts';
import type { ListingRow } from '../projections/catalog/index.ts';
import type { InstallRow } from '../projections/installs/index.ts';
import type { ReviewRow } from '../projections/reviews/index.ts';

/** How each read model's rows and each aggregate's state are shown over the API (contracts' shapes). */

const PRICING = new Set(['free', 'flat', 'usage_based', 'free_trial'] as const);
const pricingOf = (p: string | null): Listing['pricing'] => {
  for (const v of PRICING) if (v === p) return v;
  return null;
};

export const emptyContent = () => ({
  tagline: null,
  description: null,
  logo_url: null,
  screenshots: [],
  categories: [],
  support_email: null,
  documentation_url: null,
  privacy_url: null,
  terms_url: null,
  pricing_plans: [],
});

export function draftView(listingId: string, s: ListingAggregateState): ListingDraft {
  const draft = s.draft ?? s.live;
  const items = checklist(draft);
  return {
    object: 'listing_draft',
    listing_id: listingId,
    draft: draft ?? emptyContent(),
    checklist: items,
    ready: items.every((i) => i.ok),
    saved_at: s.saved_at,
    published_at: s.published_at,
    unlisted: s.unlisted,
  };
}

export const iso = (v: Date | string) => new Date(v).toISOString();

/** `prior`: the marketplace-wide mean rating (C of the weighted rating). */
export function listingView(r: ListingRow, nowMs: number, prior: number | null): Listing {
  const count = Number(r.review_count);
  const sum = Number(r.rating_sum);
  return {
    id: r.listing_id,
    object: 'listing',
    application_id: r.application_id,
    partner_id: r.partner_id,
    partner_name: r.partner_name,
    name: r.name,
    tagline: r.tagline,
    description: r.description,
    description_html: r.description_html,
    categories: r.categories,
    pricing: pricingOf(r.pricing),
    official: r.official,
    status: r.status === 'deprecated' ? 'deprecated' : 'published',
    status_reason: r.status_reason,
    privacy_url: r.privacy_url,
    terms_url: r.terms_url,
    logo_url: r.logo_url,
    screenshots: r.screenshots,
    support_email: r.support_email,
    documentation_url: r.documentation_url,
    pricing_plans: r.pricing_plans,
    featured:
      r.featured_from && r.featured_until && new Date(r.featured_from).getTime() <= nowMs && new Date(r.featured_until).getTime() > nowMs
        ? { from: iso(r.featured_from), until: iso(r.featured_until) }
        : null,
    active_installs: Number(r.active_installs),
    total_installs: Number(r.total_installs),
    trending_score: trendingScore(Number(r.trend_weight), nowMs),
    rating: {
      count,
      mean: plainMean(count, sum),
      bayesian: bayesianRating(count, sum, prior),
      histogram: { 1: Number(r.r1), 2: Number(r.r2), 3: Number(r.r3), 4: Number(r.r4), 5: Number(r.r5) },
    },
    published_at: iso(r.published_at),
    updated_at: iso(r.updated_at),
  };
}

export function installView(r: InstallRecord | InstallRow): Install {
  const removed = 'active' in r ? (r.active ? null : r.removed_at) : r.removed_at;
  return {
    id: r.install_id,
    object: 'install',
    listing_id: r.listing_id,
    application_id: r.application_id,
    partner_id: r.partner_id,
    customer_id: r.customer_id,
    status: removed ? 'removed' : 'active',
    installed_at: iso(r.installed_at),
    removed_at: removed ? iso(removed) : null,
  };
}

export function reviewView(r: ReviewRow): Review {
  return {
    id: r.review_id,
    object: 'review',
    listing_id: r.listing_id,
    customer_id: r.customer_id,
    rating: r.rating,
    body: r.body,
    edits: r.edits,
    hidden: r.hidden,
    reports: r.reports,
    response:
      r.response_body !== null && r.responded_at
        ? { body: r.response_body, responded_at: iso(r.responded_at), updated_at: iso(r.response_updated_at ?? r.responded_at) }
        : null,
    submitted_at: iso(r.submitted_at),
    updated_at: iso(r.updated_at),
  };
}
