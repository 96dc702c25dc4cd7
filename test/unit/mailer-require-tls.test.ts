import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../../src/activities/mailer.js';
import { startSmtpSink, type SmtpSink } from '../../tooling/simulators/smtp-sink.js';

// The local sink offers no STARTTLS, like a relay that would take mail in the clear.
let sink: SmtpSink;
beforeEach(async () => {
  sink = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
});
afterEach(async () => {
  await sink.close();
});

const email = { to: 'lead@acme.test', subject: 'Hi', text: 'Hello', html: '<p>Hello</p>', messageId: '<m1@leads.acme.test>' };

describe('SMTP_REQUIRE_TLS (nodemailer requireTLS)', () => {
  it('sends to a plain relay when TLS is not required', async () => {
    const mailer = createSmtpMailer({ host: '127.0.0.1', port: sink.smtpPort, secure: false, from: 'Sales <sales@acme.test>' });
    await expect(mailer.send(email)).resolves.toBeUndefined();
    mailer.close();
  });

  it('refuses to send in the clear when the relay offers no STARTTLS', async () => {
    const mailer = createSmtpMailer({ host: '127.0.0.1', port: sink.smtpPort, secure: false, requireTls: true, from: 'Sales <sales@acme.test>' });
    await expect(mailer.send(email)).rejects.toThrow(/STARTTLS/i);
    mailer.close();
  });
});
