import { z } from 'zod';

/** Settings of github-bridge: the GitHub App's identity, its webhook secret and the API it talks to. */
export const bridgeConfigSchema = z.object({
  GITHUB_APP_ID: z.coerce.number().int().positive({ message: 'GITHUB_APP_ID is required' }),
  /** PEM private key of the App (PKCS#1 as GitHub issues it, or PKCS#8); `\n` escapes are accepted. */
  GITHUB_PRIVATE_KEY: z.string().min(100, 'GITHUB_PRIVATE_KEY (the App private key, PEM) is required'),
  GITHUB_WEBHOOK_SECRET: z.string().min(8, 'GITHUB_WEBHOOK_SECRET is required'),
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  /** Installation tokens are renewed this long before they expire. */
  GITHUB_TOKEN_REFRESH_MARGIN_S: z.coerce.number().int().min(0).default(300),
  /** Longest wait for a rate limit (primary reset or retry-after) inside one operation; longer fails it. */
  GITHUB_MAX_RATE_WAIT_MS: z.coerce.number().int().min(0).default(15_000),
  /** Budget of one revert operation. */
  GITHUB_REVERT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(18_000),
});
export type BridgeSettings = z.output<typeof bridgeConfigSchema>;
