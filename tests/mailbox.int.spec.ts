// The development mail catcher of `npm start` (scripts/mailbox.ts): what a service sends over SMTP is listed on its
// web page, readable, with its attachments downloadable.
import { createMailer } from '@pep/mailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mailbox, startMailbox } from '../scripts/mailbox.ts';

let box: Mailbox;
beforeAll(async () => {
  box = await startMailbox();
});
afterAll(async () => {
  await box?.close();
});

describe('dev mailbox', () => {
  it('catches a mail with an attachment and shows it on its web page', async () => {
    const mailer = createMailer({ SMTP_URL: box.smtpUrl, MAIL_FROM: 'Billing <billing@example.com>' });
    try {
      await mailer.sendMail({
        to: 'ap@example.com',
        subject: 'Invoice PEP-000042 <test>',
        text: 'Total: USD 49.00',
        html: '<p>Total: <b>USD 49.00</b></p>',
        attachments: [{ filename: 'PEP-000042.pdf', content: Buffer.from('%PDF-1.3 fake'), contentType: 'application/pdf' }],
      });
    } finally {
      mailer.close();
    }
    expect(box.messages.map((m) => [m.to, m.subject])).toEqual([[['ap@example.com'], 'Invoice PEP-000042 <test>']]);
    const list = await (await fetch(`${box.webUrl}/`)).text();
    expect(list).toContain('Invoice PEP-000042 &#60;test&#62;'); // escaped
    expect(list).toContain('PEP-000042.pdf');
    const one = await (await fetch(`${box.webUrl}/messages/1`)).text();
    expect(one).toContain('Total: USD 49.00');
    expect(one).toContain('sandbox=""');
    const file = await fetch(`${box.webUrl}/messages/1/attachments/0`);
    expect([file.status, file.headers.get('content-type'), await file.text()]).toEqual([200, 'application/pdf', '%PDF-1.3 fake']);
    expect((await fetch(`${box.webUrl}/messages/9`)).status).toBe(404);
  });
});
