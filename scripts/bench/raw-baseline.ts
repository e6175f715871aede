import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';

import { weightedOrder } from './stats';

/**
 * The baseline the plugin is compared with: what an app does without it. One pooled nodemailer
 * transport per SMTP server (the same connection limit as the plugin's server settings), messages
 * assigned to servers by weight ahead of time, and at most `concurrency` sendMail calls in flight
 * (the same number as the plugin's worker concurrency). No queue, no Redis, no log.
 */

export interface RawTarget {
  port: number;
  weight: number;
  maxConnections: number;
}

export interface BenchMessage {
  /** Also sent as the X-Multi-SMTP-ID header, so the sinks count raw and plugin messages alike. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
}

export const sendRaw = async (messages: BenchMessage[], targets: RawTarget[], concurrency: number): Promise<void> => {
  const transports = targets.map((target) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: target.port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: target.maxConnections,
      maxMessages: Infinity,
    } as SMTPPool.Options)
  );
  // Message i goes to server order[i]: the same smooth weighted round robin the plugin's router uses.
  const order = weightedOrder(
    targets.map((target) => target.weight),
    messages.length
  );
  let next = 0;
  const sendLoop = async () => {
    while (next < messages.length) {
      const index = next++;
      const message = messages[index]!;
      await transports[order[index]!]!.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        // As the plugin does it (sending-engine.ts mailOf): a Message-ID from the id, and the id header.
        messageId: `<${message.id}@example.com>`,
        headers: { 'X-Multi-SMTP-ID': message.id },
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, () => sendLoop()));
  } finally {
    for (const transport of transports) transport.close();
  }
};
