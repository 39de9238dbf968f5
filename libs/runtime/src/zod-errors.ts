import type { z } from 'zod';
import { type FieldError, ValidationError } from './errors.ts';

/** Turns zod issues into field errors with dotted paths (`data.email`, `items.3.price`). */
export function fieldErrors(error: z.ZodError, opts: { prefix?: string; index?: number } = {}): FieldError[] {
  return error.issues.map((issue) => {
    const path = [opts.prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
    return { ...(opts.index !== undefined ? { index: opts.index } : {}), path, message: issue.message };
  });
}

/** Parses or throws a ValidationError naming each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(fieldErrors(r.error, prefix === undefined ? {} : { prefix }));
  return r.data;
}
