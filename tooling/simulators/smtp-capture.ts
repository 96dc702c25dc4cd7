import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import type { SMTPServerSession } from 'smtp-server';
import type { SinkMessage } from './smtp-state.js';

/** Turns the raw DATA of one SMTP transaction into the message the sink shows over HTTP. */

export function stripBrackets(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headerRecord(headerLines: ReadonlyArray<{ key: string; line: string }>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const previous = headers[key];
    headers[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return headers;
}

export async function parseMessage(raw: Buffer, session: SMTPServerSession, id: number): Promise<SinkMessage> {
  const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true });
  const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  return {
    id,
    messageId: stripBrackets(parsed.messageId ?? ''),
    from: envelopeFrom || parsed.from?.value[0]?.address || '',
    to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: parsed.html || '',
    headers: headerRecord(parsed.headerLines),
    receivedAt: new Date().toISOString(),
    size: raw.length,
  };
}
