import nodemailer from 'nodemailer';
import { permanentFailure, transientFailure } from './failures.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per (lead, template): a resend after a crash carries the same Message-ID. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

export interface SmtpOptions {
  host: string;
  port: number;
  secure: boolean;
  /** On a plain connection, insist on STARTTLS (nodemailer's requireTLS) instead of sending in the clear. */
  requireTls?: boolean;
  user?: string | undefined;
  password?: string | undefined;
  from: string;
}

/** SMTP through nodemailer with a small connection pool. */
export function createSmtpMailer(options: SmtpOptions): Mailer {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    // Without credentials a plain relay (the local sink) is spoken to as it is, unless TLS is required.
    requireTLS: options.requireTls ?? false,
    ignoreTLS: !options.secure && !options.user && !options.requireTls,
    auth: options.user ? { user: options.user, pass: options.password ?? '' } : undefined,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(email) {
      try {
        await transport.sendMail({
          from: options.from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          messageId: email.messageId,
          headers: email.headers,
        });
      } catch (err) {
        const error = err as Error & { responseCode?: number };
        const code = error.responseCode;
        // 5xx is the server's final word on this message; 4xx and broken connections pass.
        if (code !== undefined && code >= 500) {
          throw permanentFailure('EmailRejected', `SMTP ${code}: ${error.message}`);
        }
        throw transientFailure('EmailUnavailable', code ? `SMTP ${code}: ${error.message}` : error.message);
      }
    },
    close() {
      transport.close();
    },
  };
}
