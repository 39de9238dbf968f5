import { defineTemplate } from '@pep/mailer';

type InvoiceVars = { issuer: string; partner: string; number: string; total: string; due_date: string; period: string };

/** Sent when an invoice is finalized, with its PDF attached. Transactional: no List-Unsubscribe. */
export const invoiceMail = defineTemplate<InvoiceVars>({
  subject: 'Invoice {{number}} from {{issuer}}: {{total}} due {{due_date}}',
  text: 'Hello {{partner}},\n\nyour invoice {{number}} for {{period}} is attached (PDF).\nTotal: {{total}}\nDue date: {{due_date}}\n\n{{issuer}}',
  html: '<p>Hello {{partner}},</p><p>your invoice <strong>{{number}}</strong> for {{period}} is attached (PDF).</p><table><tr><td>Total</td><td><strong>{{total}}</strong></td></tr><tr><td>Due date</td><td>{{due_date}}</td></tr></table><p>{{issuer}}</p>',
});

/** Sent on billing.invoice_payment_failed with the retry schedule. Transactional: no List-Unsubscribe. */
export const failedPaymentMail = defineTemplate<InvoiceVars & { attempt: number; schedule: string }>({
  subject: 'Payment of invoice {{number}} failed (attempt {{attempt}})',
  text: 'Hello {{partner}},\n\nwe could not collect {{total}} for invoice {{number}} (attempt {{attempt}}).\n{{schedule}}\n\n{{issuer}}',
  html: '<p>Hello {{partner}},</p><p>we could not collect <strong>{{total}}</strong> for invoice <strong>{{number}}</strong> (attempt {{attempt}}).</p><p>{{schedule}}</p><p>{{issuer}}</p>',
});
