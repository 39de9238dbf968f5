import type { NamedMigrations } from '@pep/db';
import * as createMarketplaceTables from './1796117500000-CreateMarketplaceTables.ts';
import * as createReviews from './1796117600000-CreateReviews.ts';
import * as listingContent from './1796117700000-ListingContentCategoriesModeration.ts';
import * as searchWords from './1796117800000-SearchWordsRenderedDescriptions.ts';

export const marketplaceMigrations: NamedMigrations = {
  '1796117500000-CreateMarketplaceTables': createMarketplaceTables,
  '1796117600000-CreateReviews': createReviews,
  '1796117700000-ListingContentCategoriesModeration': listingContent,
  '1796117800000-SearchWordsRenderedDescriptions': searchWords,
};
