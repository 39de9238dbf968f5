import { z } from 'zod';

/** A user the registry makes at start-up if missing (development and demo only; refused in production). */
export const SeedUserSchema = z.object({
  email: z.email(),
  password: z.string().min(12),
  role: z.enum(['owner', 'admin', 'developer', 'billing', 'platform_admin']),
  partner_id: z.string().nullable().default(null),
});

/** Settings of portal accounts (environment variables of the partner-registry). */
export const accountsConfigSchema = z.object({
  /** Where the portal is served: emailed links point at `<PORTAL_URL>/<page>#token=...`. */
  PORTAL_URL: z.url().default('http://127.0.0.1:8080/portal'),
  /** A session ends after this long without a request (OWASP: 15–30 minutes)... */
  SESSION_IDLE_MINUTES: z.coerce
    .number()
    .min(1)
    .max(24 * 60)
    .default(30),
  /** ...and after this long whatever the activity. */
  SESSION_ABSOLUTE_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 30)
    .default(8),
  INVITATION_TTL_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 30)
    .default(7 * 24),
  /** Failed sign-ins allowed per account, and per client address, within the window before further tries wait. */
  SIGN_IN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
  SIGN_IN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  SIGN_IN_FAILURE_WINDOW_MINUTES: z.coerce.number().min(0.1).default(15),
  /** JSON list of `{ email, password, role, partner_id }` to create at start-up (development/demo only). */
  PORTAL_SEED_USERS: z
    .string()
    .default('[]')
    .transform((s, ctx) => {
      try {
        return z.array(SeedUserSchema).parse(JSON.parse(s));
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a JSON list of { email, password, role, partner_id }: ${(err as Error).message}`,
        });
        return z.NEVER;
      }
    }),
});
export type AccountsConfig = z.output<typeof accountsConfigSchema>;
export type SeedUserConfig = z.output<typeof SeedUserSchema>;
