import type { Metrics } from '@pep/runtime';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { z } from 'zod';

/** Mail settings from the environment (parse with `loadConfig` or `mailerConfigSchema.parse(process.env)`). */
export const mailerConfigSchema = z.object({
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://...` (implicit TLS). */
  SMTP_URL: z.string().url().default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('Partner Platform <no-reply@partner-platform.dev>'),
});
export type MailerConfig = z.output<typeof mailerConfigSchema>;

export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. `X-Entity-Ref-ID` so a resend can be recognised. */
  headers?: Record<string, string>;
  /** Files sent with the mail (e.g. an invoice PDF). */
  attachments?: { filename: string; content: Buffer; contentType: string }[];
}

export interface SendResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

export interface Mailer {
  sendMail(message: MailMessage): Promise<SendResult>;
  /** Closes pooled connections. */
  close(): void;
}

export class MailSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailSendError';
  }
}

/**
 * `email_messages_total` by outcome: delivered (the SMTP server accepted every recipient), bounced (it
 * refused a recipient) or failed (the send failed: server away, connection refused, message refused).
 */
function mailOutcomes(metrics: Metrics | undefined) {
  const c = metrics?.counter('email_messages_total', 'Emails sent by outcome: delivered, bounced (a recipient refused), failed', [
    'outcome',
  ]);
  for (const outcome of ['delivered', 'bounced', 'failed']) c?.inc({ outcome }, 0);
  return c;
}

/**
 * An SMTP mailer (nodemailer) for one sender address. nodemailer is loaded on the first send, not at start-up:
 * a service whose mail is off, or that has not sent yet, does not carry its code (see `pnpm bench:footprint`).
 */
export function createMailer(config: MailerConfig, metrics?: Metrics): Mailer {
  const outcomes = mailOutcomes(metrics);
  let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;
  let opening: Promise<Transporter<SMTPTransport.SentMessageInfo>> | undefined;
  let closed = false;
  const open = () =>
    (opening ??= import('nodemailer').then(({ default: nodemailer }) => {
      const t = nodemailer.createTransport(config.SMTP_URL);
      if (closed) t.close();
      transport = t;
      return t;
    }));
  return {
    async sendMail(m) {
      try {
        const info = await (await open()).sendMail({
          from: config.MAIL_FROM,
          to: m.to,
          subject: m.subject,
          text: m.text,
          ...(m.html ? { html: m.html } : {}),
          ...(m.headers ? { headers: m.headers } : {}),
          ...(m.attachments?.length ? { attachments: m.attachments } : {}),
        });
        const addr = (a: unknown) => (typeof a === 'string' ? a : ((a as { address?: string }).address ?? String(a)));
        const sent = {
          messageId: String(info.messageId),
          accepted: (info.accepted as unknown[]).map(addr),
          rejected: (info.rejected as unknown[]).map(addr),
        };
        outcomes?.inc({ outcome: sent.rejected.length > 0 ? 'bounced' : 'delivered' });
        return sent;
      } catch (err) {
        outcomes?.inc({ outcome: 'failed' });
        throw new MailSendError(`sending "${m.subject}" failed: ${(err as Error).message}`, { cause: err });
      }
    },
    close: () => {
      closed = true;
      transport?.close();
    },
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);

export type TemplateVars = Record<string, string | number>;

export interface EmailTemplate<V extends TemplateVars> {
  render(vars: V): { subject: string; text: string; html: string };
}

function interpolate(template: string, vars: TemplateVars, encode: (s: string) => string): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    if (!(key in vars)) throw new Error(`template variable "${key}" is missing`);
    return encode(String(vars[key]));
  });
}

/**
 * A text + HTML email from `{{name}}` placeholders. Values are HTML-escaped in the HTML part; the HTML body
 * is wrapped in a minimal layout. A placeholder without a value throws (no half-rendered mail goes out).
 */
export function defineTemplate<V extends TemplateVars>(t: { subject: string; text: string; html: string }): EmailTemplate<V> {
  return {
    render(vars) {
      const subject = interpolate(t.subject, vars, (s) => s.replace(/[\r\n]+/g, ' '));
      return {
        subject,
        text: interpolate(t.text, vars, (s) => s),
        html: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font-family:system-ui,sans-serif;line-height:1.5">${interpolate(t.html, vars, escapeHtml)}</body></html>`,
      };
    },
  };
}
