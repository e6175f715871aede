/**
 * The sending engine's SMTP transports, and the SMTP thread that runs them off the main thread.
 *
 * nodemailer (MIME building, quoted-printable encoding, socket writes) is over a third of the main
 * thread's work per message; smtp-threads.ts moves it into worker threads that run this module.
 * Built by `strapi-plugin build` into dist/smtp-thread/index.js (package.json exports
 * "./smtp-thread"): a small bundle (this file and nodemailer), so a thread loads in milliseconds.
 * Loaded in the main thread it only exports the transport factory and the wire format; loaded as a
 * thread of smtp-threads.ts (workerData role SMTP_THREAD_ROLE) it keeps one nodemailer transport per
 * connection of the main thread:
 *
 *   in:  { op: 'open', id, options }   a transport for connection `id` (toTransportOptions' options)
 *        { op: 'send', id, seq, mail } one message on connection `id`
 *        { op: 'close', id }           closes connection `id`
 *   out: { seq, info } | { seq, error }   the outcome of send `seq`, as plain objects (toWire)
 *        and once loaded: { ready: true }
 */
import net from 'node:net';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import nodemailer, { type Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

export const SMTP_THREAD_ROLE = 'multi-smtp-smtp-thread';

export type SmtpTransport = Transporter<SMTPPool.SentMessageInfo>;

/**
 * A one-connection nodemailer pool: one TCP connection reused from send to send, with the options
 * of smtp-probe.ts's toTransportOptions (the same settings the admin's connection test uses).
 */
export function createPooledTransport(options: SMTPTransport.Options): SmtpTransport {
  return nodemailer.createTransport({ ...options, pool: true, maxConnections: 1, maxMessages: Infinity } as SMTPPool.Options);
}

/**
 * Nagle's algorithm holds each small SMTP command for a delayed ACK (~40 ms a message and
 * connection, even on loopback). nodemailer creates its sockets itself and leaves it on (a
 * `getSocket` answering `{ socket }` is ignored by its pool: only a connected `{ connection }` is
 * used), so the SMTP thread, whose only sockets are SMTP connections, turns it off on every socket
 * it connects, TLS ones included. Never called on the main thread, where it would touch every socket.
 */
function noDelayOnEverySocket(): void {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connectWithoutNagle(this: net.Socket, ...args: unknown[]) {
    this.setNoDelay(true);
    return (connect as (...connectArgs: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
}

/**
 * A value as plain data that survives postMessage: errors field by field (their message and name,
 * which are not own enumerable properties, and every own one: code, response, responseCode,
 * command, errno, syscall, library, rejected, rejectedErrors...), no functions, no prototypes.
 * classify.ts reads errors and infos by shape, so it reads the copy as it reads the original.
 */
export function toWire(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? undefined : value;
  }
  if (depth > 4) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1));
  const plain: Record<string, unknown> = {};
  const { message, name } = value as { message?: unknown; name?: unknown };
  if (typeof message === 'string') {
    plain.message = message;
    if (typeof name === 'string') plain.name = name;
  }
  for (const [key, field] of Object.entries(value)) {
    const copy = toWire(field, depth + 1);
    if (copy !== undefined) plain[key] = copy;
  }
  return plain;
}

/** An error from its wire form: a real Error (for logs and stack-less reports) with every field back. */
export function errorFromWire(wire: Record<string, unknown>): Error {
  const error = new Error(typeof wire.message === 'string' ? wire.message : 'unknown error');
  const { message: _message, ...fields } = wire;
  return Object.assign(error, fields);
}

/** Binary content arrives as Uint8Array (structured clone drops Buffer's prototype): nodemailer wants Buffers. */
function reviveMail(mail: Mail.Options): Mail.Options {
  const buffer = <T>(value: T): T | Buffer => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);
  const parts = (list: Mail.Attachment[] | undefined) => list?.map((part) => ({ ...part, content: buffer(part.content) }));
  return {
    ...mail,
    text: buffer(mail.text),
    html: buffer(mail.html),
    ...(mail.raw !== undefined ? { raw: buffer(mail.raw) } : {}),
    ...(mail.attachments ? { attachments: parts(mail.attachments) } : {}),
    ...(mail.alternatives ? { alternatives: parts(mail.alternatives) } : {}),
  } as Mail.Options;
}

type ThreadMessage =
  | { op: 'open'; id: number; options: SMTPTransport.Options }
  | { op: 'send'; id: number; seq: number; mail: Mail.Options }
  | { op: 'close'; id: number };

const data = (workerData ?? {}) as { role?: string };
if (!isMainThread && parentPort && data.role === SMTP_THREAD_ROLE) {
  const port = parentPort;
  noDelayOnEverySocket();
  const transports = new Map<number, SmtpTransport>();
  const reply = (seq: number, outcome: { info: unknown } | { error: unknown }) => {
    port.postMessage('info' in outcome ? { seq, info: toWire(outcome.info) } : { seq, error: toWire(outcome.error) });
  };
  port.on('message', (message: ThreadMessage) => {
    switch (message.op) {
      case 'open':
        transports.get(message.id)?.close();
        transports.set(message.id, createPooledTransport(message.options));
        return;
      case 'send': {
        const transport = transports.get(message.id);
        if (!transport) {
          reply(message.seq, { error: Object.assign(new Error(`Connection ${message.id} is not open in this SMTP thread`), { code: 'ECONNECTION' }) });
          return;
        }
        let mail: Mail.Options;
        try {
          mail = reviveMail(message.mail);
        } catch (error) {
          reply(message.seq, { error });
          return;
        }
        transport.sendMail(mail).then(
          (info) => reply(message.seq, { info }),
          (error: unknown) => reply(message.seq, { error })
        );
        return;
      }
      case 'close':
        transports.get(message.id)?.close();
        transports.delete(message.id);
        return;
    }
  });
  port.postMessage({ ready: true });
}
