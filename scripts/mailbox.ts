/**
 * The development mail catcher: an SMTP server (smtp-server) that keeps what it receives in memory (mailparser)
 * and a small web page listing it, so a person can read the mails `npm start` sends (invoices with their PDF,
 * failed payments, portal invitations). Loopback only, development only: nothing is relayed anywhere.
 *
 *   node --import tsx scripts/mailbox.ts     (alone: SMTP on MAILBOX_SMTP_PORT, web on MAILBOX_HTTP_PORT)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  n: number;
  received: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  attachments: { filename: string; contentType: string; content: Buffer }[];
}

export interface Mailbox {
  smtpUrl: string;
  webUrl: string;
  messages: CaughtMail[];
  close(): Promise<void>;
}

const MAX_MESSAGES = 500;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}iframe{width:100%;height:28rem;border:1px solid #ddd}</style></head><body>${body}</body></html>`;

function listPage(messages: CaughtMail[]) {
  const rows = [...messages]
    .reverse()
    .map(
      (m) =>
        `<tr><td>${m.n}</td><td>${esc(m.received)}</td><td>${esc(m.to.join(', '))}</td><td><a href="/messages/${m.n}">${esc(m.subject || '(no subject)')}</a></td><td>${m.attachments.map((a) => esc(a.filename)).join(', ')}</td></tr>`,
    )
    .join('');
  return page(
    'Mailbox',
    `<h1>Mailbox</h1><p>${messages.length} mail(s) caught (newest first; kept in memory until the platform stops).</p><table><tr><th>#</th><th>received</th><th>to</th><th>subject</th><th>attachments</th></tr>${rows}</table>`,
  );
}

function messagePage(m: CaughtMail) {
  const files = m.attachments
    .map(
      (a, i) =>
        `<li><a href="/messages/${m.n}/attachments/${i}">${esc(a.filename)}</a> (${esc(a.contentType)}, ${a.content.length} bytes)</li>`,
    )
    .join('');
  return page(
    m.subject,
    `<p><a href="/">← all mails</a></p><h1>${esc(m.subject)}</h1><p>From ${esc(m.from)} to ${esc(m.to.join(', '))}, ${esc(m.received)}</p>${files ? `<h2>Attachments</h2><ul>${files}</ul>` : ''}<h2>Text</h2><pre>${esc(m.text)}</pre>${m.html ? `<h2>HTML</h2><iframe sandbox="" srcdoc="${esc(m.html)}"></iframe>` : ''}`,
  );
}

async function listen(
  server: { listen: (port: number, host: string, cb: () => void) => unknown; once: (e: 'error', cb: (err: Error) => void) => unknown },
  port: number,
  host: string,
) {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Starts the catcher on the given ports (0 or a taken port: any free one). */
export async function startMailbox(opts: { smtpPort?: number; httpPort?: number; host?: string } = {}): Promise<Mailbox> {
  const host = opts.host ?? '127.0.0.1';
  const messages: CaughtMail[] = [];
  let n = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 25 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          messages.push({
            n: ++n,
            received: new Date().toISOString(),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            attachments: parsed.attachments.map((a) => ({
              filename: a.filename ?? 'attachment',
              contentType: a.contentType,
              content: a.content,
            })),
          });
          if (messages.length > MAX_MESSAGES) messages.shift();
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  const web: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailbox');
    const m = /^\/messages\/(\d+)(?:\/attachments\/(\d+))?$/.exec(url.pathname);
    const html = (status: number, body: string) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    if (url.pathname === '/') return html(200, listPage(messages));
    if (url.pathname === '/messages.json')
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(messages.map(({ attachments, ...rest }) => ({ ...rest, attachments: attachments.map((a) => a.filename) }))));
    const mail = m ? messages.find((x) => x.n === Number(m[1])) : undefined;
    if (!mail) return html(404, page('Not found', '<p>No such mail. <a href="/">All mails</a></p>'));
    if (m?.[2] === undefined) return html(200, messagePage(mail));
    const file = mail.attachments[Number(m[2])];
    if (!file) return html(404, page('Not found', '<p>No such attachment.</p>'));
    res
      .writeHead(200, {
        'content-type': file.contentType,
        'content-disposition': `inline; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`,
      })
      .end(file.content);
  });
  const bind = async (server: Parameters<typeof listen>[0], port: number) => {
    try {
      await listen(server, port, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
      await listen(server, 0, host);
    }
  };
  await bind(smtp, opts.smtpPort ?? 0);
  await bind(web, opts.httpPort ?? 0);
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const httpPort = (web.address() as AddressInfo).port;
  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    webUrl: `http://${host}:${httpPort}`,
    messages,
    close: async () => {
      await new Promise<void>((r) => smtp.close(() => r()));
      await new Promise<void>((r) => web.close(() => r()));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  startMailbox({ smtpPort: Number(process.env.MAILBOX_SMTP_PORT ?? 1025), httpPort: Number(process.env.MAILBOX_HTTP_PORT ?? 8025) })
    .then((m) => {
      process.stdout.write(`mailbox: SMTP ${m.smtpUrl}, web ${m.webUrl}\n`);
      const stop = () => void m.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`mailbox failed: ${String(err)}\n`);
      process.exit(1);
    });
}
