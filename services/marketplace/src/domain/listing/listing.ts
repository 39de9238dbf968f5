import type { ApplicationPublishedData, ListingContent, PlatformEvent } from '@pep/contracts';

/**
 * A listing follows its application: created by `application.published` (from the snapshot it carries),
 * updated by a later `application.published`, shown as deprecated after `application.deprecated`, unlisted
 * after `application.retired`. Its id is derived from the application's, so the same stream always gives
 * the same listing ids (rebuilds included).
 */
export function listingIdFor(applicationId: string): string {
  return `lst_${applicationId.replace(/^app_/, '')}`;
}

/** Technology partners' listings carry the "official" badge. */
export const isOfficialPartnerType = (type: string | undefined): boolean => type === 'technology';

export type ListingStatus = 'published' | 'deprecated' | 'retired';

/** What one application event does to its listing (null: nothing). Pure; the projection writes it. */
export type ListingChange =
  | {
      kind: 'published';
      listing_id: string;
      application_id: string;
      partner_id: string;
      name: string;
      /** The listing content the snapshot states (application.published v2; v1 events are upcast with none). */
      content: ListingContent;
      published_at: string;
    }
  | { kind: 'status'; listing_id: string; status: ListingStatus; reason: string | null };

/**
 * The marketplace content an application's snapshot states. The long description (Markdown) is the listing's
 * description; without one the application's short description stands in.
 */
export function snapshotContent(d: ApplicationPublishedData): ListingContent {
  return {
    tagline: d.tagline,
    description: d.long_description ?? d.description,
    logo_url: d.logo_url,
    screenshots: d.screenshots,
    categories: d.categories,
    support_email: d.support_email,
    documentation_url: d.documentation_url,
    privacy_url: d.privacy_url,
    terms_url: d.terms_url,
    pricing_plans: d.pricing_plans,
  };
}

export function listingChangeOf(event: PlatformEvent): ListingChange | null {
  switch (event.type) {
    case 'application.published': {
      // decodeEvent upcast it to the latest version (v2), validated against the catalog when appended
      const d = event.data as ApplicationPublishedData;
      return {
        kind: 'published',
        listing_id: listingIdFor(d.application_id),
        application_id: d.application_id,
        partner_id: d.partner_id,
        name: d.name,
        content: snapshotContent(d),
        published_at: d.published_at,
      };
    }
    case 'application.deprecated':
    case 'application.retired': {
      const d = event.data as { application_id: string; reason: string | null };
      return {
        kind: 'status',
        listing_id: listingIdFor(d.application_id),
        status: event.type === 'application.deprecated' ? 'deprecated' : 'retired',
        reason: d.reason,
      };
    }
    default:
      return null;
  }
}
