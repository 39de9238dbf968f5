import type { Projection } from '@pep/events';
import { createCommandBus } from '@pep/events';
import { type ServiceContext, type ServiceDefinition, runService, perContext } from '@pep/service';
import { type BillingSettings, billingConfigSchema } from './config.ts';
import { type InvoiceJobDeps, runInvoices } from './app/invoice-job.ts';
import { billingMigrations } from './db/migrations/index.ts';
import type { BillingDB } from './db/schema.ts';
import { formatDate } from './domain/pricing/period.ts';
import { billingHandlers } from './handlers/index.ts';
import { wireStripe } from './app/stripe-wiring.ts';
import { payoutsProjection } from './projections/payouts/index.ts';
import { attributionProjection } from './projections/revenue/index.ts';
import { createMailer } from '@pep/mailer';
import { queueExecutiveReport } from './app/executive-report.ts';
import { createMailOutbox } from './app/mail-outbox.ts';
import { contactsProjection } from './projections/contacts/index.ts';
import { invoicesProjection } from './projections/invoices/index.ts';
import { plansProjection } from './projections/plans/index.ts';
import { reportedUsageProjection } from './projections/reported-usage/index.ts';
import { subscriptionsProjection } from './projections/subscriptions/index.ts';
import { usageProjection } from './projections/usage/index.ts';

export const SERVICE_NAME = 'billing';

export function billingProjections(prefix: string): Projection<BillingDB>[] {
  return [
    usageProjection(prefix),
    reportedUsageProjection(prefix),
    plansProjection(prefix),
    subscriptionsProjection(prefix),
    invoicesProjection(prefix),
    attributionProjection(prefix),
    payoutsProjection(prefix),
    contactsProjection(prefix),
  ];
}

type Ctx = ServiceContext<BillingDB, BillingSettings>;

function wire(ctx: Ctx) {
  const commands = createCommandBus({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections, source: 'urn:pep:billing' });
  // Finalizations of every partner share the issuer's numbering subject: more retries under contention.
  const numbering = createCommandBus({
    bus: ctx.bus,
    logger: ctx.logger,
    projections: ctx.projections,
    source: 'urn:pep:billing',
    maxAttempts: 25,
  });
  const invoices: InvoiceJobDeps = {
    db: ctx.db,
    commands: numbering,
    projections: ctx.projections,
    logger: ctx.logger,
    settings: ctx.config,
  };
  // One mailer per process (it registers email_messages_total once); mail is off without SMTP_URL.
  const mailer = ctx.config.SMTP_URL
    ? createMailer({ SMTP_URL: ctx.config.SMTP_URL, MAIL_FROM: ctx.config.MAIL_FROM }, ctx.metrics)
    : undefined;
  const outbox = mailer ? createMailOutbox({ db: ctx.db, mailer, logger: ctx.logger, settings: ctx.config }) : undefined;
  return { commands, invoices, stripe: wireStripe(ctx, commands), now: () => new Date(), mailer, outbox };
}

export function billingService(): ServiceDefinition<BillingDB, BillingSettings> {
  const get = perContext(wire);
  return {
    name: SERVICE_NAME,
    configSchema: billingConfigSchema,
    migrations: billingMigrations,
    projections: (ctx: Ctx) => billingProjections(ctx.config.SUBJECT_PREFIX),
    handlers: (ctx: Ctx) => {
      const w = get(ctx);
      return billingHandlers({
        db: ctx.db,
        logger: ctx.logger,
        commands: w.commands,
        invoices: w.invoices,
        now: w.now,
        maxBuckets: ctx.config.USAGE_MAX_BUCKETS,
        stripe: w.stripe,
        documents: { issuerName: ctx.config.INVOICE_ISSUER_NAME, recipients: () => ctx.config.EXECUTIVE_REPORT_RECIPIENTS.length },
      });
    },
    start: async (ctx: Ctx) => {
      const w = get(ctx);
      const collection = await w.stripe.startCollection();
      if (!w.outbox) ctx.logger.warn('SMTP_URL is not set: invoice and report mails wait in the outbox unsent');
      const stopOutbox = w.outbox?.start() ?? (async () => undefined);
      const every = ctx.config.INVOICE_JOB_INTERVAL_MS;
      if (every === 0)
        return async () => {
          await stopOutbox();
          w.mailer?.close();
          await collection.stop();
        };
      let running: Promise<unknown> | undefined;
      const runs = ctx.metrics.counter('billing_invoice_job_runs_total', 'Scheduled invoice runs by outcome', ['outcome']);
      runs.inc({ outcome: 'failed' }, 0);
      // The scheduled job closes the last ended month; it is idempotent, so every replica may run it.
      const tick = () => {
        if (running) return;
        const now = w.now();
        const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
        running = runInvoices(w.invoices, last, formatDate(now.getTime()))
          .then(async () => {
            runs.inc({ outcome: 'succeeded' });
            // The last ended month's executive report, once (its outbox id is the month's).
            if (ctx.config.EXECUTIVE_REPORT_RECIPIENTS.length) await queueExecutiveReport(ctx.db, last, true);
          })
          .catch((err) => {
            runs.inc({ outcome: 'failed' });
            ctx.logger.warn('scheduled invoice run failed; it runs again', { period: last, err });
          })
          .finally(() => {
            running = undefined;
          });
      };
      const timer = setInterval(tick, every);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
        await stopOutbox();
        w.mailer?.close();
        await collection.stop();
      };
    },
  };
}

export function startBilling() {
  return runService({ ...billingService(), exit: (code) => process.exit(code) });
}
