import { z } from 'zod';
import { safeText } from '../common/text.ts';

/** RFC 9457 problem details, as every error response of the API carries them. */
export const ProblemSchema = z
  .object({
    type: safeText(),
    title: safeText(),
    status: z.number().int(),
    detail: safeText().optional(),
    instance: safeText().optional(),
    errors: z
      .array(z.object({ index: z.number().int().optional(), path: safeText(), message: safeText() }))
      .optional()
      .describe('One entry per invalid field; `index` names the item of a batch'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });
