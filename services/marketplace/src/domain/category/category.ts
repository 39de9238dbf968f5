import type { PlatformEvent } from '@pep/contracts';
import { ConflictError, NotFoundError, ValidationError } from '@pep/runtime';

/** The admin-managed category list: one aggregate per slug. */
export const CATEGORY_AGGREGATE = 'marketplace_category';
export const CATEGORIES_PROJECTION = 'marketplace-categories';

/** Seed 002's categories and the platform's own lines of business (defined at start when missing). */
export const SEED_CATEGORIES: readonly { slug: string; name: string }[] = [
  { slug: 'developer-tools', name: 'Developer tools' },
  { slug: 'project-management', name: 'Project management' },
  { slug: 'code-quality', name: 'Code quality' },
  { slug: 'continuous-integration', name: 'Continuous integration' },
  { slug: 'monitoring', name: 'Monitoring' },
  { slug: 'leads', name: 'Leads' },
  { slug: 'policies', name: 'Policies' },
  { slug: 'claims', name: 'Claims' },
];

export interface CategoryState {
  defined: { name: string; parent: string | null } | null;
}

export type CategoryEvent =
  | {
      type: 'marketplace.category_defined';
      data: { slug: string; name: string; parent: string | null; defined_by: string; defined_at: string };
    }
  | { type: 'marketplace.category_removed'; data: { slug: string; removed_by: string; removed_at: string } };

export function isCategoryEvent<E extends { type: string; data: unknown }>(e: E): e is E & CategoryEvent {
  return e.type === 'marketplace.category_defined' || e.type === 'marketplace.category_removed';
}

export const initialCategory = (): CategoryState => ({ defined: null });

export function evolveCategory(state: CategoryState, event: PlatformEvent): CategoryState {
  if (!isCategoryEvent(event)) return state;
  if (event.type === 'marketplace.category_defined') return { defined: { name: event.data.name, parent: event.data.parent } };
  return { defined: null };
}

export const categoryAggregate = {
  kind: CATEGORY_AGGREGATE,
  initial: initialCategory,
  evolve: evolveCategory,
  projection: CATEGORIES_PROJECTION,
};

export type CategoryCommand =
  | { type: 'DefineCategory'; slug: string; name: string; parent: string | null; known: ReadonlySet<string>; by: string; now: Date }
  | { type: 'RemoveCategory'; slug: string; children: string[]; by: string; now: Date };

/** Pure: a parent must be another known category; a category with children is not removed. */
export function decideCategory(command: CategoryCommand, state: CategoryState): CategoryEvent[] {
  switch (command.type) {
    case 'DefineCategory': {
      if (command.parent !== null && (command.parent === command.slug || !command.known.has(command.parent))) {
        throw new ValidationError([{ path: 'parent', message: `"${command.parent}" is not another marketplace category` }]);
      }
      if (state.defined?.name === command.name && state.defined.parent === command.parent) return [];
      return [
        {
          type: 'marketplace.category_defined',
          data: {
            slug: command.slug,
            name: command.name,
            parent: command.parent,
            defined_by: command.by,
            defined_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'RemoveCategory': {
      if (!state.defined) throw new NotFoundError(`category ${command.slug} not found`);
      if (command.children.length > 0) {
        throw new ConflictError(`category ${command.slug} is the parent of ${command.children.join(', ')}; move or remove them first`);
      }
      return [
        {
          type: 'marketplace.category_removed',
          data: { slug: command.slug, removed_by: command.by, removed_at: command.now.toISOString() },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
