import { z } from 'zod';

/** RFC 9457 problem details, as every error response of the API carries them. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ index: z.number().int().optional(), path: z.string(), message: z.string() }))
      .optional()
      .describe('One entry per invalid field; `index` names the item of a batch'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });
