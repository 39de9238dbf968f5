import type { NamedMigrations } from '@pep/db';
import * as createMeteringTables from './1796100000000-CreateMeteringTables.ts';
import * as createPlansAndSubscriptions from './1796100000100-CreatePlansAndSubscriptions.ts';
import * as createInvoices from './1796100000200-CreateInvoices.ts';
import * as invoicePayments from './1796100000300-InvoicePayments.ts';
import * as invoiceDocumentsAndMail from './1796100000400-InvoiceDocumentsAndMail.ts';
import * as createStripeAndPayouts from './1796100000900-CreateStripeAndPayouts.ts';

export const billingMigrations: NamedMigrations = {
  '1796100000000-CreateMeteringTables': createMeteringTables,
  '1796100000100-CreatePlansAndSubscriptions': createPlansAndSubscriptions,
  '1796100000200-CreateInvoices': createInvoices,
  '1796100000300-InvoicePayments': invoicePayments,
  '1796100000400-InvoiceDocumentsAndMail': invoiceDocumentsAndMail,
  '1796100000900-CreateStripeAndPayouts': createStripeAndPayouts,
};
