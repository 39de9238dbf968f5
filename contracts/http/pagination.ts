import { z } from 'zod';
import { Cursor } from '../common/ids.ts';

/** Cursor pagination in Stripe's style: `limit` and `starting_after`, answered with `{ data, has_more }`. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: Cursor().optional(),
});
export type PageQuery = z.output<typeof PageQuerySchema>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), has_more: z.boolean() });
}
export type Page<T> = { data: T[]; has_more: boolean };
