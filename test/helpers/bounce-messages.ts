/**
 * Bounce and complaint messages for tests, shaped like the real ones in test/fixtures/bounces:
 * a Postfix RFC 3464 DSN (lhost-postfix-*.eml), an ARF feedback report (arf-*.eml), an RFC 3834
 * auto-reply. The returned part carries the headers of a message the sink really received.
 */

import type { CapturedMessage, TestSmtpServer } from './smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from './strapi';
import { waitFor } from './wait';

let counter = 0;

type Mailer = { sendNow(message: object, options?: object): Promise<{ id: string; status: string }> };

/** Boots Strapi with this plugin config and one server ("sink", sender news@shop.example) delivering to the sink in the default group. */
export const startWithSink = async (sink: TestSmtpServer, pluginConfig: Record<string, unknown>): Promise<TestStrapi> => {
  const app = await startStrapi({ pluginConfig });
  const api = asAdmin(app);
  const defaultGroup = (await api.get('/multi-smtp/groups')).body.data[0].documentId;
  const created = await api.post('/multi-smtp/servers', {
    name: 'sink',
    host: '127.0.0.1',
    port: sink.port,
    security: 'none',
    fromAddress: 'news@shop.example',
    group: defaultGroup,
  });
  if (created.status !== 201) throw new Error(`creating the sink server: ${created.status} ${JSON.stringify(created.body)}`);
  return app;
};

/** Sends one message through the engine at once; returns its id and what the sink received. */
export const sendAndCapture = async (mailer: Mailer, sink: TestSmtpServer, email: string): Promise<{ id: string; captured: CapturedMessage }> => {
  const result = await mailer.sendNow({ to: email, subject: `Hello ${++counter}`, text: 'Hi' });
  if (result.status !== 'sent') throw new Error(`sending to ${email} ended ${result.status}`);
  const captured = await waitFor('the sink got it', () => sink.messages.find((message) => message.headers['x-multi-smtp-id'] === result.id));
  return { id: result.id, captured: captured! };
};

/** The header block of a raw message (up to the first empty line), with CRLF turned into LF. */
export const headerBlockOf = (raw: string): string => raw.replace(/\r\n/g, '\n').split('\n\n')[0]!;

/** Drops header fields (and their folded lines) by name. */
export const withoutHeaders = (headerBlock: string, names: string[]): string => {
  const drop = new Set(names.map((name) => name.toLowerCase()));
  const kept: string[] = [];
  let dropping = false;
  for (const line of headerBlock.split('\n')) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) kept.push(line);
      continue;
    }
    dropping = drop.has(line.slice(0, line.indexOf(':')).trim().toLowerCase());
    if (!dropping) kept.push(line);
  }
  return kept.join('\n');
};

export interface DsnOptions {
  /** Where the bounce was delivered: the VERP address, or the site's plain bounce mailbox. */
  to: string;
  recipient: string;
  /** 5.1.1 (hard), 4.2.2 (soft)... */
  status: string;
  action?: 'failed' | 'delayed';
  diagnostic?: string;
  /** Header block of the returned message. */
  returnedHeaders: string;
}

/** A Postfix DSN (multipart/report; report-type=delivery-status) with the returned message's headers. */
export const postfixDsn = (options: DsnOptions): string => {
  const id = ++counter;
  const boundary = `B${id}.1700000000/mx.example.net`;
  const diagnostic = options.diagnostic ?? `smtp; 550 ${options.status} <${options.recipient}>: Recipient address rejected: User unknown in virtual mailbox table`;
  return [
    'Return-Path: <>',
    `X-Original-To: ${options.to}`,
    `Delivered-To: ${options.to}`,
    'Received: by mx.example.net (Postfix) id 4F2A1B0C0D; Thu, 29 Apr 2025 23:45:32 +0000 (UTC)',
    'Date: Thu, 29 Apr 2025 23:45:32 +0000 (UTC)',
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    `Subject: ${options.action === 'delayed' ? 'Delayed Mail (still being retried)' : 'Undelivered Mail Returned to Sender'}`,
    `To: ${options.to}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="${boundary}"`,
    `Message-Id: <20250429234532.${id}@mx.example.net>`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.example.net.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients. It\'s attached below.',
    '',
    `<${options.recipient}>: host mail.example.org[192.0.2.10] said: ${diagnostic.replace(/^smtp; /, '')}`,
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    'X-Postfix-Queue-ID: 4F2A1B0C0D',
    'Arrival-Date: Thu, 29 Apr 2025 23:45:30 +0000 (UTC)',
    '',
    `Final-Recipient: rfc822; ${options.recipient}`,
    `Original-Recipient: rfc822;${options.recipient}`,
    `Action: ${options.action ?? 'failed'}`,
    `Status: ${options.status}`,
    'Remote-MTA: dns; mail.example.org',
    `Diagnostic-Code: ${diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    options.returnedHeaders,
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
};

/** An ARF feedback report (RFC 5965) about a message, with its headers. */
export const arfReport = (options: { recipient: string; returnedHeaders: string; feedbackType?: string }): string => {
  const id = ++counter;
  const boundary = `arf-boundary-${id}`;
  return [
    'From: fbl@isp.example',
    'To: fbl-reports@shop.example',
    'Date: Thu, 29 Apr 2025 00:00:00 GMT',
    'Subject: Email Feedback Report',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    `Message-ID: <fbl-${id}@isp.example>`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    '',
    'This is an email abuse report for an email message received from IP address 192.0.2.89.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${options.feedbackType ?? 'abuse'}`,
    'User-Agent: ISP-FBL/1.0',
    'Version: 1',
    `Original-Rcpt-To: <${options.recipient}>`,
    'Source-IP: 192.0.2.89',
    'Arrival-Date: Thu, 29 Apr 2025 00:00:00 -0000',
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    options.returnedHeaders,
    '',
    'The message body.',
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
};

/** An out-of-office answer (RFC 3834). */
export const autoReply = (to: string): string =>
  [
    'From: Ann <ann@example.org>',
    `To: ${to}`,
    'Subject: Out of office: Welcome',
    'Auto-Submitted: auto-replied',
    'Date: Thu, 29 Apr 2025 00:00:00 GMT',
    `Message-ID: <ooo-${++counter}@example.org>`,
    '',
    'I am away until Monday and will read your message when I am back.',
    '',
  ].join('\n');

/** Messages in one mbox: "From " separator lines, ">From " quoting of body lines. */
export const mbox = (messages: string[]): string =>
  messages
    .map((message) => `From MAILER-DAEMON Thu Apr 29 23:45:32 2025\n${message.replace(/^(>*From )/gm, '>$1').replace(/\n*$/, '\n')}`)
    .join('\n');
