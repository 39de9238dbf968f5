import type { StoredEvent } from '@pep/contracts';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';

/**
 * What the invoices projection writes besides the invoice row: credit notes, and the mails an event asks for.
 * Mails go to `mail_outbox` in the same transaction as the checkpoint, keyed by the event's meaning (one invoice
 * mail per invoice, one failed-payment mail per attempt), so a redelivery or a rebuild never mails twice.
 */
export async function applyInvoiceDocuments(trx: Transaction<BillingDB>, e: StoredEvent) {
  switch (e.type) {
    case 'billing.credit_note_issued': {
      const d = e.data as {
        credit_note_id: string;
        invoice_id: string;
        partner_id: string;
        number: string;
        amount: number;
        currency: string;
        reason: string;
        lines: unknown[];
        issued_at: string;
      };
      const inserted = await trx
        .insertInto('credit_notes')
        .values({
          id: d.credit_note_id,
          invoice_id: d.invoice_id,
          partner_id: d.partner_id,
          number: d.number,
          amount: String(d.amount),
          currency: d.currency,
          reason: d.reason,
          lines: JSON.stringify(d.lines),
          issued_at: d.issued_at,
          seq: e.seq,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted)
        await trx
          .updateTable('invoices')
          .set((eb) => ({ credited: sql<string>`${eb.ref('credited')} + ${d.amount}` }))
          .where('id', '=', d.invoice_id)
          .execute();
      return;
    }
    case 'billing.invoice_finalized': {
      const d = e.data as { invoice_id: string; partner_id: string };
      await enqueue(trx, { id: `invoice:${d.invoice_id}`, kind: 'invoice', partner_id: d.partner_id, ref: d.invoice_id, payload: {} });
      return;
    }
    case 'billing.invoice_payment_failed': {
      const d = e.data as { invoice_id: string; partner_id: string; payment_ref: string; attempt: number; next_retry_at?: string };
      await enqueue(trx, {
        id: `payment_failed:${d.invoice_id}:${d.payment_ref}:${d.attempt}`,
        kind: 'payment_failed',
        partner_id: d.partner_id,
        ref: d.invoice_id,
        payload: { attempt: d.attempt, next_retry_at: d.next_retry_at ?? null },
      });
      return;
    }
    default:
      return;
  }
}

export async function enqueue(
  db: Kysely<BillingDB> | Transaction<BillingDB>,
  m: { id: string; kind: string; partner_id: string | null; ref: string | null; payload: unknown },
) {
  await db
    .insertInto('mail_outbox')
    .values({ ...m, payload: JSON.stringify(m.payload) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

type NoteRow = BillingDB['credit_notes'];
export function creditNoteView(r: NoteRow) {
  return {
    object: 'credit_note' as const,
    id: r.id,
    invoice_id: r.invoice_id,
    partner_id: r.partner_id,
    number: r.number,
    amount: Number(r.amount),
    currency: r.currency,
    reason: r.reason,
    lines: r.lines as { description: string; amount: number }[],
    issued_at: r.issued_at,
  };
}

export const creditNotesOf = (db: Kysely<BillingDB>, invoiceId: string) =>
  db.selectFrom('credit_notes').selectAll().where('invoice_id', '=', invoiceId).orderBy('issued_at').orderBy('id').execute();
