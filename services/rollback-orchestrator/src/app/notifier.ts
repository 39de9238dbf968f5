import { createMailer, type Mailer } from '@pep/mailer';
import type { Logger, Metrics } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';

/**
 * Emails incident and rollback notifications over SMTP (@pep/mailer), once per event: the event id is
 * recorded before sending and released when the send fails, so a redelivered event is not mailed twice.
 */
export function createNotifier(opts: {
  db: Kysely<OrchestratorDB>;
  smtpUrl: string | undefined;
  from: string;
  logger: Logger;
  metrics?: Metrics;
}) {
  const mailer: Mailer | null = opts.smtpUrl ? createMailer({ SMTP_URL: opts.smtpUrl, MAIL_FROM: opts.from }, opts.metrics) : null;
  return {
    enabled: mailer !== null,
    async send(eventId: string, kind: string, to: string[], subject: string, text: string): Promise<boolean> {
      if (!mailer || to.length === 0) return false;
      const claimed = await opts.db
        .insertInto('notifications_sent')
        .values({ event_id: eventId, kind })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('event_id')
        .executeTakeFirst();
      if (!claimed) return false;
      try {
        await mailer.sendMail({ to, subject, text, headers: { 'X-PEP-Event-Id': eventId, 'X-PEP-Event-Type': kind } });
        return true;
      } catch (err) {
        await opts.db.deleteFrom('notifications_sent').where('event_id', '=', eventId).execute();
        opts.logger.warn('notification email failed', { eventId, err });
        throw err;
      }
    },
    close: () => mailer?.close(),
  };
}
export type Notifier = ReturnType<typeof createNotifier>;
