import type { BaseConfig } from '@pep/runtime';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Registry settings on top of the base config (environment variables). */
export const registryConfigSchema = z.object({
  /** Addresses/ranges/hosts let through the SSRF rules (comma-separated, e.g. `127.0.0.1/32` in tests). */
  SSRF_ALLOW: z.string().default(''),
  /** Accept plain http webhook/health URLs (development and tests only). */
  ALLOW_HTTP_URLS: bool,
});
export type RegistryConfig = BaseConfig & z.output<typeof registryConfigSchema>;
