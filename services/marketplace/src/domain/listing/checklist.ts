import type { ListingContent } from '@pep/contracts';

/**
 * The pre-submission checklist, after GitHub Marketplace's: a listing goes live only with a logo, a detailed
 * description, 3 to 5 screenshots, a pricing plan, a support email, and privacy policy and terms URLs.
 */
export const MIN_DESCRIPTION_CHARS = 150;
export const MIN_SCREENSHOTS = 3;

export type ChecklistItem = 'logo_url' | 'description' | 'screenshots' | 'pricing_plans' | 'support_email' | 'privacy_url' | 'terms_url';

export interface ChecklistResult {
  item: ChecklistItem;
  ok: boolean;
  message: string;
}

export function checklist(c: ListingContent | null): ChecklistResult[] {
  const d = c?.description ?? '';
  const shots = c?.screenshots.length ?? 0;
  return [
    { item: 'logo_url', ok: Boolean(c?.logo_url), message: 'a logo is required' },
    {
      item: 'description',
      ok: d.length >= MIN_DESCRIPTION_CHARS,
      message: `a detailed description of at least ${MIN_DESCRIPTION_CHARS} characters is required (has ${d.length})`,
    },
    { item: 'screenshots', ok: shots >= MIN_SCREENSHOTS, message: `${MIN_SCREENSHOTS} to 5 screenshots are required (has ${shots})` },
    { item: 'pricing_plans', ok: (c?.pricing_plans.length ?? 0) > 0, message: 'at least one pricing plan is required' },
    { item: 'support_email', ok: Boolean(c?.support_email), message: 'a support email is required' },
    { item: 'privacy_url', ok: Boolean(c?.privacy_url), message: 'a privacy policy URL is required' },
    { item: 'terms_url', ok: Boolean(c?.terms_url), message: 'a terms of service URL is required' },
  ];
}

/** The pricing the catalog's `pricing` filter knows a listing by: its first plan's, a free trial first. */
export function pricingModelOf(c: ListingContent): 'free' | 'flat' | 'usage_based' | 'free_trial' | null {
  const first = c.pricing_plans[0];
  if (!first) return null;
  if (c.pricing_plans.some((p) => p.trial_days > 0 && p.model !== 'free')) return 'free_trial';
  return first.model;
}
