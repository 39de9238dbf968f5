import { PageQuerySchema, RunInvoicesBody, type RpcRequest, VoidInvoiceBody } from '@pep/contracts';
import { ForbiddenError, NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { assertVisible, isAdmin, ok } from '@pep/service';
import { z } from 'zod';
import { type InvoiceJobDeps, runInvoices } from '../app/invoice-job.ts';
import { decideInvoiceStatus, invoiceAggregate } from '../domain/invoice/invoice.ts';
import { formatDate } from '../domain/pricing/period.ts';
import { creditNotesOf } from '../projections/invoices/documents.ts';
import { invoiceById, invoiceView, listInvoices } from '../projections/invoices/index.ts';
import { readScope } from './tenant.ts';

const IdParams = z.object({ id: z.string().min(1).max(128) });
const ListQuery = PageQuerySchema.extend({ partner_id: z.string().min(1).max(64).optional() });

export function invoiceHandlers(deps: InvoiceJobDeps & { now: () => Date }) {
  return {
    'invoices.run': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators run invoices');
      const body = parseOrThrow(RunInvoicesBody, req.body);
      return ok(await runInvoices(deps, body.period, formatDate(deps.now().getTime())));
    },
    'invoices.void': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators void invoices');
      const { id } = parseOrThrow(IdParams, req.params);
      const body = parseOrThrow(VoidInvoiceBody, req.body ?? {});
      await deps.commands.execute(invoiceAggregate, id, { correlationId: req.request_id, traceparent: req.traceparent }, (s) =>
        decideInvoiceStatus({ type: 'VoidInvoice', invoiceId: id, reason: body.reason }, s),
      );
      return ok(invoiceView((await invoiceById(deps.db, id)) as NonNullable<Awaited<ReturnType<typeof invoiceById>>>));
    },
    'invoices.mark-uncollectible': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators mark invoices uncollectible');
      const { id } = parseOrThrow(IdParams, req.params);
      const row = await invoiceById(deps.db, id);
      await deps.commands.execute(invoiceAggregate, id, { correlationId: req.request_id, traceparent: req.traceparent }, (s) =>
        decideInvoiceStatus({ type: 'MarkUncollectible', invoiceId: id, finalized: row?.number != null }, s),
      );
      return ok(invoiceView((await invoiceById(deps.db, id)) as NonNullable<Awaited<ReturnType<typeof invoiceById>>>));
    },
    'invoices.get': async (req: RpcRequest) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const row = await invoiceById(deps.db, id);
      if (!row) throw new NotFoundError(`invoice ${id} not found`);
      assertVisible(req.principal, row.partner_id, `invoice ${id}`);
      return ok(invoiceView(row, await creditNotesOf(deps.db, id)));
    },
    'invoices.list': async (req: RpcRequest) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      const partnerId = readScope(req.principal, q.partner_id);
      let startingAfter: { period_start: string; id: string } | undefined;
      if (q.starting_after) {
        const cursor = await invoiceById(deps.db, q.starting_after);
        if (!cursor || (partnerId !== undefined && cursor.partner_id !== partnerId))
          throw new ValidationError([{ path: 'starting_after', message: 'no such invoice' }]);
        startingAfter = { period_start: cursor.period_start, id: cursor.id };
      }
      const rows = await listInvoices(deps.db, { partnerId, limit: q.limit, ...(startingAfter ? { startingAfter } : {}) });
      const page = rows.slice(0, q.limit);
      const notes = page.length
        ? await deps.db
            .selectFrom('credit_notes')
            .selectAll()
            .where(
              'invoice_id',
              'in',
              page.map((r) => r.id),
            )
            .orderBy('issued_at')
            .orderBy('id')
            .execute()
        : [];
      return ok({
        data: page.map((r) =>
          invoiceView(
            r,
            notes.filter((n) => n.invoice_id === r.id),
          ),
        ),
        has_more: rows.length > q.limit,
      });
    },
  };
}
