import type { BaseConfig } from '@pep/runtime';
import { z } from 'zod';

/** Registry settings on top of the base config (environment variables). */
export const registryConfigSchema = z.object({});
export type RegistryConfig = BaseConfig & z.output<typeof registryConfigSchema>;
