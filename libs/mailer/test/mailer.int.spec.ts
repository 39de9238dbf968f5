import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, defineTemplate, MailSendError, mailerConfigSchema } from '../src/index.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../src/testing.ts';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
});
afterAll(async () => {
  await smtp?.close();
});

const welcome = defineTemplate<{ name: string; url: string }>({
  subject: 'Welcome, {{name}}',
  text: 'Hello {{name}},\nopen {{url}}',
  html: '<p>Hello <b>{{name}}</b>, open <a href="{{url}}">the console</a></p>',
});

describe('@pep/mailer', () => {
  it('sends text + HTML over real SMTP, escaping values in the HTML part', async () => {
    const mailer = createMailer(mailerConfigSchema.parse({ SMTP_URL: smtp.url, MAIL_FROM: 'Platform <noreply@platform.test>' }));
    const r = await mailer.sendMail({
      to: ['a@acme.test', 'b@acme.test'],
      ...welcome.render({ name: 'Ann <script>', url: 'https://x.test/?a=1&b=2' }),
    });
    mailer.close();
    expect(r.accepted).toEqual(['a@acme.test', 'b@acme.test']);
    const m = await smtp.waitFor((x) => x.subject === 'Welcome, Ann <script>');
    expect(m.from).toBe('noreply@platform.test');
    expect(m.to).toEqual(['a@acme.test', 'b@acme.test']);
    expect(m.text).toContain('Hello Ann <script>,\nopen https://x.test/?a=1&b=2');
    expect(m.html).toContain('<b>Ann &lt;script&gt;</b>');
    expect(m.html).toContain('href="https://x.test/?a=1&amp;b=2"');
    expect(m.html).not.toContain('<script>');
  });

  it('refuses to render a template with a missing value, and names a failed send', async () => {
    expect(() => welcome.render({ name: 'x' } as never)).toThrow(/url/);
    await smtp.close();
    const mailer = createMailer({ SMTP_URL: smtp.url, MAIL_FROM: 'p@platform.test' });
    await expect(mailer.sendMail({ to: 'a@acme.test', subject: 's', text: 't' })).rejects.toBeInstanceOf(MailSendError);
    mailer.close();
    smtp = await startTestSmtpServer();
  });
});
