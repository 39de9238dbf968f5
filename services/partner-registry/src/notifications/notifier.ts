import type { StoredEvent, ValidationCheck } from '@pep/contracts';
import { aggregateFilter, type DeadLetterSink, type EventBus, startWorker } from '@pep/events';
import type { Mailer } from '@pep/mailer';
import type { Logger } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { CommandBus } from '../app/command-bus.ts';
import type { RegistryDB } from '../db/schema.ts';
import { contactEmails } from '../projections/partners/index.ts';
import { APPLICATION_STATUS_TEXT, applicationStatusEmail, keyExpiryEmail } from './templates.ts';
import { applicationAggregate } from '../domain/application/aggregate.ts';

/** Application events that change its status, and so are mailed to the partner's contacts. */
const STATUS_EVENTS = new Set([
  'application.submitted',
  'application.review_started',
  'application.approved',
  'application.changes_requested',
  'application.rejected',
  'application.published',
  'application.deprecated',
  'application.retired',
]);

async function alreadySent(db: Kysely<RegistryDB>, key: string) {
  return (await db.selectFrom('sent_emails').select('key').where('key', '=', key).executeTakeFirst()) !== undefined;
}
async function markSent(db: Kysely<RegistryDB>, key: string, recipients: string[], subject: string) {
  await db
    .insertInto('sent_emails')
    .values({ key, recipients: recipients.join(','), subject, sent_at: new Date() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}

function details(e: StoredEvent): string {
  const d = e.data as { note?: string | null; validation?: { passed: boolean; checks: ValidationCheck[] }; reason?: string | null };
  const lines: string[] = [];
  if (d.validation) {
    lines.push(d.validation.passed ? 'The automated security validation passed.' : 'The automated security validation found problems:');
    for (const c of d.validation.checks.filter((x) => !x.passed)) lines.push(`- ${c.check}: ${c.message}`);
  }
  if (d.note) lines.push(`Reviewer note: ${d.note}`);
  if (d.reason) lines.push(`Reason: ${d.reason}`);
  return lines.join('\n') || 'No further details.';
}

/**
 * Emails to partner contacts: every application status change (a durable consumer of the application
 * events, from the time it is first created: history is not mailed) and API-key expiry warnings (a periodic
 * scan). Each mail is recorded by a key (event id, or key id + expiry) so a redelivery does not mail twice.
 */
export async function startNotifications(opts: {
  bus: EventBus;
  db: Kysely<RegistryDB>;
  commands: CommandBus;
  mailer: Mailer;
  logger: Logger;
  deadLetters: DeadLetterSink;
  keyExpiryWarningDays: number;
  keyExpiryScanIntervalMs: number;
  now?: () => Date;
}) {
  const { db, logger, mailer } = opts;
  const now = opts.now ?? (() => new Date());

  const worker = await startWorker({
    bus: opts.bus,
    durable: 'partner-registry-mailer',
    filterSubject: aggregateFilter(opts.bus.prefix, 'application'),
    deliverPolicy: 'new',
    concurrency: 4,
    backoffMs: [1000, 5000, 30_000],
    deadLetters: opts.deadLetters,
    logger,
    handle: async (e) => {
      if (!STATUS_EVENTS.has(e.type)) return;
      const key = `event:${e.id}`;
      if (await alreadySent(db, key)) return;
      const d = e.data as { application_id: string; partner_id: string; status: string };
      const app = (await opts.commands.load(applicationAggregate, d.application_id)).state;
      const to = await contactEmails(db, d.partner_id, ['primary', 'technical']);
      if (to.length === 0) return;
      const mail = applicationStatusEmail.render({
        app_name: app?.name ?? d.application_id,
        app_id: d.application_id,
        status_text: APPLICATION_STATUS_TEXT[d.status] ?? d.status,
        details: details(e),
      });
      await mailer.sendMail({ to, ...mail, headers: { 'X-Entity-Ref-ID': e.id } });
      await markSent(db, key, to, mail.subject);
    },
  });

  const scanKeys = async () => {
    const t = now();
    const until = new Date(t.getTime() + opts.keyExpiryWarningDays * 86_400_000);
    // One scanner at a time across replicas; the lock ends with the transaction.
    await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_xact_lock(hashtext('partner-registry:key-expiry')) as locked`.execute(trx);
      if (!rows[0]?.locked) return;
      const keys = await trx
        .selectFrom('api_keys')
        .select(['id', 'partner_id', 'state'])
        .where(sql<boolean>`(state->>'revoked')::boolean = false`)
        .where(sql<boolean>`(state->>'expires_at') is not null`)
        .where(sql<boolean>`(state->>'expires_at')::timestamptz > ${t.toISOString()}::timestamptz`)
        .where(sql<boolean>`(state->>'expires_at')::timestamptz <= ${until.toISOString()}::timestamptz`)
        .execute();
      for (const k of keys) {
        const expires = k.state.expires_at as string;
        const key = `key-expiry:${k.id}:${expires}`;
        if (await alreadySent(db, key)) continue;
        const to = await contactEmails(db, k.partner_id, ['primary', 'technical', 'security']);
        if (to.length === 0) continue;
        const mail = keyExpiryEmail.render({
          key_name: k.state.name,
          key_prefix: k.state.prefix,
          expires_at: expires,
          days_left: Math.max(1, Math.ceil((Date.parse(expires) - t.getTime()) / 86_400_000)),
        });
        await mailer.sendMail({ to, ...mail, headers: { 'X-Entity-Ref-ID': key } });
        await markSent(db, key, to, mail.subject);
      }
    });
  };
  let scanning: Promise<void> = Promise.resolve();
  const scan = () => {
    scanning = scanning.then(() => scanKeys().catch((err) => logger.warn('key expiry scan failed', { err })));
    return scanning;
  };
  const timer = setInterval(scan, opts.keyExpiryScanIntervalMs);
  void scan();

  return {
    /** Runs a key-expiry scan now (tests, operators). */
    scanKeys: scan,
    async stop() {
      clearInterval(timer);
      await scanning;
      await worker.stop();
      mailer.close();
    },
  };
}
