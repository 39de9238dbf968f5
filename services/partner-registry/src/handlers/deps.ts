import type { EventBus } from '@pep/events';
import type { Mailer } from '@pep/mailer';
import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { CommandBus } from '../app/command-bus.ts';
import type { RegistryDB } from '../db/schema.ts';
import type { RegistryConfig } from '../config.ts';
import type { ProbeResult } from '../domain/integration/health.ts';

/** What handlers get: the read side (db), the write side (commands) and the config. */
export interface HandlerDeps {
  db: Kysely<RegistryDB>;
  commands: CommandBus;
  logger: Logger;
  config: RegistryConfig;
  now: () => Date;
  /** The event bus, for an area that folds another area's aggregate with its own view (identity: application owners). */
  bus?: EventBus;
  /** Calls an integration's health URL (SSRF-safe); absent where health checks are off. */
  probe?: (url: string) => Promise<ProbeResult>;
  /** Sends account emails (invitations, sign-in and reset links); absent when SMTP_URL is unset. */
  mailer?: Mailer | undefined;
}
