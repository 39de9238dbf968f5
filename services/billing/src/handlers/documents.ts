import { BillingSettingsBody, ClosePeriodBody, CreateCreditNoteBody, ForecastQuerySchema, type RpcRequest } from '@pep/contracts';
import type { CommandBus } from '@pep/events';
import { ForbiddenError, NotFoundError, parseOrThrow } from '@pep/runtime';
import { actingPartner, assertVisible, isAdmin, ok, okFile } from '@pep/service';
import { z } from 'zod';
import { queueExecutiveReport } from '../app/executive-report.ts';
import { revenueForecast } from '../app/forecast.ts';
import { type InvoiceJobDeps, runInvoices } from '../app/invoice-job.ts';
import { renderInvoicePdf } from '../app/invoice-pdf.ts';
import { decideCreditNote } from '../domain/invoice/credit-note.ts';
import { invoiceAggregate, invoiceIdOf, numberingAggregate } from '../domain/invoice/invoice.ts';
import { addMonths, formatDate } from '../domain/pricing/period.ts';
import { dateIn } from '../domain/pricing/timezone.ts';
import { decideSettings, settingsAggregate } from '../domain/settings/settings.ts';
import { contactOf, timezoneOf } from '../projections/contacts/index.ts';
import { creditNotesOf, creditNoteView } from '../projections/invoices/documents.ts';
import { invoiceById } from '../projections/invoices/index.ts';
import { readScope } from './tenant.ts';

const IdParams = z.object({ id: z.string().min(1).max(128) });
const PartnerQuery = z.object({ partner_id: z.string().min(1).max(64).optional() });

export interface DocumentHandlerDeps {
  commands: CommandBus;
  invoices: InvoiceJobDeps;
  now: () => Date;
  issuerName: string;
  recipients: () => number;
}

/** Invoice PDF, credit notes, billing settings, forecast, executive report and the demo's close-now. */
export function documentHandlers(deps: DocumentHandlerDeps) {
  const db = deps.invoices.db;
  const visibleInvoice = async (req: RpcRequest) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const row = await invoiceById(db, id);
    if (!row) throw new NotFoundError(`invoice ${id} not found`);
    assertVisible(req.principal, row.partner_id, `invoice ${id}`);
    return row;
  };
  return {
    'invoices.pdf': async (req: RpcRequest) => {
      const row = await visibleInvoice(req);
      const contact = await contactOf(db, row.partner_id);
      const pdf = await renderInvoicePdf(row, {
        issuerName: deps.issuerName,
        partnerName: contact?.name ?? null,
        creditNotes: await creditNotesOf(db, row.id),
      });
      return okFile(pdf, 'application/pdf', `${row.number ?? row.id}.pdf`);
    },
    'credit-notes.create': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators issue credit notes');
      const row = await visibleInvoice(req);
      const body = parseOrThrow(CreateCreditNoteBody, req.body);
      const numbering = await deps.invoices.commands.load(numberingAggregate, deps.invoices.settings.INVOICE_ISSUER);
      const numbered = numbering.state.numbered[row.id] !== undefined ? (row.number ?? null) : null;
      const result = await deps.commands.execute(
        invoiceAggregate,
        row.id,
        { correlationId: req.request_id, traceparent: req.traceparent },
        (s) =>
          decideCreditNote(
            {
              type: 'IssueCreditNote',
              invoiceId: row.id,
              invoiceNumber: numbered,
              reason: body.reason,
              lines: body.lines,
              issuedAt: deps.now().toISOString(),
            },
            s,
          ),
      );
      const issued = result.events[0]?.data as { credit_note_id: string } | undefined;
      if (!issued) throw new NotFoundError(`invoice ${row.id} not found`);
      const id = issued.credit_note_id;
      const note = (await creditNotesOf(db, row.id)).find((n) => n.id === id);
      if (!note) throw new NotFoundError(`credit note ${id} not found`);
      return ok(creditNoteView(note), 201);
    },
    'credit-notes.list': async (req: RpcRequest) => {
      const row = await visibleInvoice(req);
      return ok({ data: (await creditNotesOf(db, row.id)).map(creditNoteView), has_more: false });
    },
    'settings.get': async (req: RpcRequest) => {
      const q = parseOrThrow(PartnerQuery, req.query ?? {});
      const partnerId = actingPartner(req.principal, q.partner_id);
      return ok({ object: 'billing_settings', partner_id: partnerId, timezone: await timezoneOf(db, partnerId) });
    },
    'settings.update': async (req: RpcRequest) => {
      const body = parseOrThrow(BillingSettingsBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      await deps.commands.execute(
        settingsAggregate,
        partnerId,
        { partnerId, correlationId: req.request_id, traceparent: req.traceparent },
        (s) => decideSettings({ partnerId, timezone: body.timezone }, s),
      );
      return ok({ object: 'billing_settings', partner_id: partnerId, timezone: await timezoneOf(db, partnerId) });
    },
    'forecast.get': async (req: RpcRequest) => {
      const q = parseOrThrow(ForecastQuerySchema, req.query ?? {});
      const partnerId = readScope(req.principal, q.partner_id);
      return ok(await revenueForecast(db, { partnerId, currency: q.currency, asOf: formatDate(deps.now().getTime()) }));
    },
    'reports.executive.send': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators send the executive report');
      const month = addMonths(`${formatDate(deps.now().getTime()).slice(0, 7)}-01`, -1).slice(0, 7);
      const r = await queueExecutiveReport(db, month, false);
      return ok({ report_id: r.report_id, month, recipients: deps.recipients() }, 202);
    },
    'invoices.close-now': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators close periods');
      const body = parseOrThrow(ClosePeriodBody, req.body);
      const now = deps.now();
      const tz = await timezoneOf(db, body.partner_id);
      const period = dateIn(now, tz).slice(0, 7);
      await runInvoices(deps.invoices, period, formatDate(now.getTime()), { partnerId: body.partner_id, now });
      const id = invoiceIdOf(body.partner_id, { start: `${period}-01`, end: addMonths(`${period}-01`, 1) });
      const row = await invoiceById(db, id);
      if (!row) throw new NotFoundError(`partner ${body.partner_id} has no subscription to invoice`);
      return ok({ invoice_id: row.id, number: row.number, total: Number(row.total) });
    },
  };
}
