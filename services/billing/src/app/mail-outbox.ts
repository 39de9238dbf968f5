import type { Mailer, MailMessage } from '@pep/mailer';
import type { Logger } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { contactOf } from '../projections/contacts/index.ts';
import { creditNotesOf } from '../projections/invoices/documents.ts';
import { invoiceById } from '../projections/invoices/index.ts';
import { type ExecutiveFigures, renderExecutiveReport } from './executive-report.ts';
import { formatMoney, renderInvoicePdf } from './invoice-pdf.ts';
import { failedPaymentMail, invoiceMail } from './mail-templates.ts';

export interface OutboxSettings {
  INVOICE_ISSUER_NAME: string;
  MAIL_FROM: string;
  MAIL_SEND_RATE_PER_MINUTE: number;
  MAIL_RETRY_BASE_MS: number;
  MAIL_MAX_ATTEMPTS: number;
  MAIL_OUTBOX_POLL_MS: number;
  EXECUTIVE_REPORT_RECIPIENTS: string[];
}

type OutboxRow = BillingDB['mail_outbox'] & { attempts: number };
/** A mail that cannot be built yet (e.g. no billing contact known): retried with backoff like a refused send. */
class NotReady extends Error {}

/** How long a claimed row is held by its sender before another replica may take it (a crashed sender). */
const LEASE_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 3_600_000;
export const backoffMs = (base: number, attempts: number) => Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, attempts - 1));

/**
 * The mail outbox relay: every poll it claims the due rows (FOR UPDATE SKIP LOCKED, a lease so replicas never send
 * the same row at once), builds each mail from the read models when it is sent (the invoice PDF is rendered then),
 * and sends it through the process's one mailer. A refused send is retried after MAIL_RETRY_BASE_MS doubling per
 * attempt; after MAIL_MAX_ATTEMPTS the row is `failed`. At most MAIL_SEND_RATE_PER_MINUTE mails a minute (a token
 * bucket). Logs carry the row id, kind and attempt only, never addresses or content.
 */
export function createMailOutbox(deps: { db: Kysely<BillingDB>; mailer: Mailer; logger: Logger; settings: OutboxSettings }) {
  const s = deps.settings;
  const perMs = s.MAIL_SEND_RATE_PER_MINUTE / 60_000;
  const capacity = Math.max(1, Math.ceil(s.MAIL_SEND_RATE_PER_MINUTE / 6));
  let tokens = capacity;
  let last = Date.now();
  let round: Promise<void> | undefined;

  async function claim(n: number): Promise<OutboxRow[]> {
    const rows = await sql<OutboxRow>`
      update mail_outbox set next_attempt_at = now() + ${`${LEASE_MS} milliseconds`}::interval
      where id in (
        select id from mail_outbox where status = 'pending' and next_attempt_at <= now()
        order by next_attempt_at, id limit ${n} for update skip locked
      )
      returning *`.execute(deps.db);
    return rows.rows;
  }

  async function build(row: OutboxRow): Promise<MailMessage> {
    const payload = (row.payload ?? {}) as Record<string, unknown>;
    const headers = { 'X-Entity-Ref-ID': row.id };
    if (row.kind === 'executive_report') {
      if (s.EXECUTIVE_REPORT_RECIPIENTS.length === 0) throw new NotReady('no EXECUTIVE_REPORT_RECIPIENTS');
      const m = renderExecutiveReport(payload as unknown as ExecutiveFigures, s.INVOICE_ISSUER_NAME);
      const unsubscribe = s.MAIL_FROM.match(/<([^>]+)>/)?.[1] ?? s.MAIL_FROM;
      // A notification: it says how to stop it (invoices and payment mails do not).
      return {
        to: s.EXECUTIVE_REPORT_RECIPIENTS,
        ...m,
        headers: { ...headers, 'List-Unsubscribe': `<mailto:${unsubscribe}?subject=unsubscribe%20executive%20report>` },
      };
    }
    const inv = row.ref ? await invoiceById(deps.db, row.ref) : undefined;
    if (!inv?.number) throw new NotReady('invoice not in the read model yet');
    const contact = await contactOf(deps.db, inv.partner_id);
    if (!contact?.email) throw new NotReady('no billing contact for the partner yet');
    const vars = {
      issuer: s.INVOICE_ISSUER_NAME,
      partner: contact.name ?? inv.partner_id,
      number: inv.number,
      total: formatMoney(Number(inv.total), inv.currency),
      due_date: inv.due_date ?? '',
      period: `${inv.period_start} to ${inv.period_end}`,
    };
    if (row.kind === 'invoice') {
      const notes = await creditNotesOf(deps.db, inv.id);
      const pdf = await renderInvoicePdf(inv, { issuerName: s.INVOICE_ISSUER_NAME, partnerName: contact.name, creditNotes: notes });
      return {
        to: contact.email,
        ...invoiceMail.render(vars),
        headers,
        attachments: [{ filename: `${inv.number}.pdf`, content: pdf, contentType: 'application/pdf' }],
      };
    }
    if (row.kind === 'payment_failed') {
      const next = typeof payload.next_retry_at === 'string' ? payload.next_retry_at : null;
      const schedule = next
        ? `We will try again on ${next.slice(0, 16).replace('T', ' ')} UTC.`
        : 'No further automatic attempt is scheduled; please pay the invoice or update your payment method.';
      return { to: contact.email, ...failedPaymentMail.render({ ...vars, attempt: Number(payload.attempt ?? 1), schedule }), headers };
    }
    throw new Error(`unknown mail kind ${row.kind}`);
  }

  async function sendOne(row: OutboxRow) {
    try {
      const message = await build(row);
      await deps.mailer.sendMail(message);
      await deps.db
        .updateTable('mail_outbox')
        .set({ status: 'sent', sent_at: new Date(), last_error: null })
        .where('id', '=', row.id)
        .execute();
      deps.logger.info('mail sent', { mail_id: row.id, kind: row.kind, attempt: row.attempts + 1 });
    } catch (err) {
      const attempts = row.attempts + 1;
      const giveUp = attempts >= s.MAIL_MAX_ATTEMPTS;
      const reason = err instanceof Error ? err.constructor.name : 'Error';
      await deps.db
        .updateTable('mail_outbox')
        .set({
          attempts,
          status: giveUp ? 'failed' : 'pending',
          next_attempt_at: new Date(Date.now() + backoffMs(s.MAIL_RETRY_BASE_MS, attempts)),
          last_error: err instanceof Error ? err.message.slice(0, 300) : 'send failed',
        })
        .where('id', '=', row.id)
        .execute();
      deps.logger.warn(giveUp ? 'mail given up after its last attempt' : 'mail not sent; it is retried', {
        mail_id: row.id,
        kind: row.kind,
        attempt: attempts,
        reason,
      });
    }
  }

  async function runRound() {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + (now - last) * perMs);
    last = now;
    const n = Math.floor(tokens);
    if (n < 1) return;
    const rows = await claim(n);
    tokens -= rows.length;
    for (const row of rows) await sendOne(row);
  }

  return {
    /** One round (the timer calls it; tests may too). Rounds never overlap in a process. */
    tick(): Promise<void> {
      round ??= runRound()
        .catch((err: unknown) => deps.logger.warn('mail outbox round failed; the next one retries', { err }))
        .finally(() => {
          round = undefined;
        });
      return round;
    },
    start() {
      const timer = setInterval(() => void this.tick(), s.MAIL_OUTBOX_POLL_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await round;
      };
    },
  };
}
