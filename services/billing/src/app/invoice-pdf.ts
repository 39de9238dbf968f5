import type { BillingDB } from '../db/schema.ts';

type InvoiceRow = Pick<
  BillingDB['invoices'],
  'id' | 'partner_id' | 'number' | 'status' | 'currency' | 'total' | 'lines' | 'period_start' | 'period_end' | 'due_date' | 'created_at'
> & { credited?: string | number | null; amount_paid?: string | number | null; timezone?: string | null };

interface PdfLine {
  kind: string;
  description: string;
  quantity: number;
  unit_amount_decimal: string;
  amount: number;
  period: { start: string; end: string };
  tiers?: Record<string, unknown>[];
}

const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Minor units as a decimal amount with the currency's own exponent (JPY 0, USD 2, BHD 3). */
export function formatMoney(minor: number, currency: string): string {
  // An unknown code gets two decimals, the ISO default.
  const digits = KNOWN_CURRENCIES.has(currency)
    ? (new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2)
    : 2;
  const neg = minor < 0;
  const abs = Math.abs(minor);
  const s = digits === 0 ? String(abs) : `${Math.floor(abs / 10 ** digits)}.${String(abs % 10 ** digits).padStart(digits, '0')}`;
  return `${neg ? '-' : ''}${currency} ${s}`;
}

/**
 * The invoice as a PDF (pdfkit, loaded on the first render): issuer, number, partner, period and time zone, due
 * date, every line with quantity, unit price, period and tier breakdown, the total, credit notes and what is due.
 */
export async function renderInvoicePdf(
  inv: InvoiceRow,
  o: { issuerName: string; partnerName?: string | null; creditNotes?: { number: string; amount: string | number; reason: string }[] },
): Promise<Buffer> {
  const { default: PDFDocument } = await import('pdfkit');
  // The creation date is the invoice's: the same invoice renders to the same bytes.
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Invoice ${inv.number ?? inv.id}`, Author: o.issuerName, CreationDate: new Date(inv.created_at) },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const money = (n: number) => formatMoney(n, inv.currency);
  doc.fontSize(20).text(o.issuerName, { continued: false });
  doc
    .moveDown(0.5)
    .fontSize(14)
    .text(`Invoice ${inv.number ?? '(draft)'}`);
  doc.fontSize(10).moveDown(0.5);
  doc.text(`Status: ${inv.status}`);
  doc.text(`Billed to: ${o.partnerName ? `${o.partnerName} (${inv.partner_id})` : inv.partner_id}`);
  doc.text(`Period: ${inv.period_start} to ${inv.period_end} (end exclusive, ${inv.timezone ?? 'UTC'})`);
  doc.text(`Issued: ${inv.created_at.slice(0, 10)}${inv.due_date ? `   Due: ${inv.due_date}` : ''}`);
  doc.text(`Invoice id: ${inv.id}`);
  doc.moveDown();
  doc.fontSize(11).text('Line items');
  doc.fontSize(9);
  for (const l of inv.lines as PdfLine[]) {
    doc.moveDown(0.4);
    doc.text(`${l.description}`, { continued: false });
    doc.text(
      `   ${l.kind} · qty ${l.quantity} × ${l.unit_amount_decimal} (minor units) · ${l.period.start} to ${l.period.end} · ${money(l.amount)}`,
    );
    for (const t of l.tiers ?? [])
      doc.text(
        `      tier ${Object.entries(t)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ')}`,
      );
  }
  doc.moveDown();
  const total = Number(inv.total);
  doc.fontSize(12).text(`Total: ${money(total)}`);
  const credited = Number(inv.credited ?? 0);
  const paid = Number(inv.amount_paid ?? 0);
  doc.fontSize(10);
  for (const n of o.creditNotes ?? []) doc.text(`Credit note ${n.number}: -${money(Number(n.amount))} (${n.reason})`);
  if (credited) doc.text(`Credited: ${money(credited)}`);
  if (paid) doc.text(`Paid: ${money(paid)}`);
  const due = inv.status === 'open' || inv.status === 'draft' ? Math.max(0, total - credited - paid) : 0;
  doc.text(`Amount due: ${money(due)}`);
  doc.end();
  return done;
}
