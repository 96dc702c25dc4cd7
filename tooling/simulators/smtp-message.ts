/** One message as the SMTP sink received it (its own module: the sink's state and its event emitter both read it). */
export interface SinkMessage {
  id: number;
  /** Message-ID header without angle brackets; empty when the message had none. */
  messageId: string;
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), so Bcc recipients are included. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Raw header values keyed by lower-case name; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  receivedAt: string;
  size: number;
}
