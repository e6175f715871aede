/**
 * One poll of one bounce mailbox over IMAP (imapflow), with no Strapi import: connect, open the
 * folder, find the messages the plugin has not read yet in UID order, hand each raw message to
 * `hooks.process`, then move or flag it. What "processed exactly once" rests on is the caller's
 * (services/bounce-mailboxes.ts): a lock per mailbox, a record of processed UIDs per UIDVALIDITY,
 * and bounce processing that applies a report once.
 *
 * Order per message: process, record (hooks.recordDone), mark in the mailbox. A crash after the
 * processing re-reads the message next time (applying it again is a no-op); a crash after the
 * record only marks it. Marks:
 *   - a bounce or complaint: the keyword, then moved to `processed.moveTo` (created when missing),
 *     or the keyword and \Seen (`processed.flag`, the keyword itself);
 *   - anything else (a person's reply, an auto-reply, an unparsable or oversized message): only the
 *     keyword, so it stays where it is, unread, and is not read again.
 * Unread means "without the keyword": a server that takes no keywords (no \* in PERMANENTFLAGS)
 * relies on the UID record alone.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';

import { IMAP_DEFAULT_KEYWORD, type ImapProcessed, type SecurityMode } from '../../../shared/contracts/servers';

export interface ImapMailboxSettings {
  host: string;
  port: number;
  security: SecurityMode;
  username: string;
  password: string;
  /** The folder polled, e.g. INBOX. */
  mailbox: string;
  processed: ImapProcessed;
}

/** What processing made of one message. */
export type ImapMessageOutcome = 'report' | 'other';

export interface ImapPollHooks {
  /**
   * The UIDs among `uids` (every unmarked message, ascending) already processed under this
   * UIDVALIDITY, with their outcome: their marking failed last time. Records below the lowest of
   * `uids` may be forgotten (those messages are marked or gone).
   */
  doneOf(uidValidity: string, uids: number[]): Promise<Map<number, ImapMessageOutcome>>;
  /** Applies one raw message (as the inbound endpoint does); throws when it could not be applied (it is read again next poll). */
  process(raw: Buffer, uid: number): Promise<ImapMessageOutcome>;
  /** Records a processed UID (before the mailbox is changed). */
  recordDone(uidValidity: string, uid: number, outcome: ImapMessageOutcome): Promise<void>;
  /** False stops the poll before the next message (the lock was lost, or the process is stopping). */
  keepGoing(): Promise<boolean>;
}

export interface ImapPollOptions {
  /** Connection, greeting and socket-inactivity timeout, ms. */
  timeoutMs: number;
  /** Messages read per poll at most; the rest wait for the next. */
  maxMessages: number;
  /** Larger messages are not read (kept, keyword only). */
  maxBytes: number;
}

export interface ImapPollCounts {
  /** Messages found unread by the plugin. */
  found: number;
  /** Processed now (bounces and complaints plus others). */
  processed: number;
  reports: number;
  other: number;
  tooLarge: number;
  /** Processed before, only marked now. */
  remarked: number;
  moved: number;
  flagged: number;
  /** Left for the next poll (maxMessages, or the poll was stopped). */
  remaining: number;
  uidValidity: string | null;
}

/** An IMAP failure described without anything secret: the server's words and a code, never the login. */
export class ImapPollError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly authenticationFailed: boolean
  ) {
    super(message);
    this.name = 'ImapPollError';
  }
}

export const emptyCounts = (): ImapPollCounts => ({
  found: 0,
  processed: 0,
  reports: 0,
  other: 0,
  tooLarge: 0,
  remarked: 0,
  moved: 0,
  flagged: 0,
  remaining: 0,
  uidValidity: null,
});

/** The keyword that marks a message as read by the plugin. */
export const keywordOf = (processed: ImapProcessed): string => ('flag' in processed ? processed.flag : IMAP_DEFAULT_KEYWORD);

/** Connection options for imapflow: no logger (it would log the exchange), auto-IDLE off, bounded waits. */
export const imapOptionsOf = (settings: ImapMailboxSettings, timeoutMs: number): ImapFlowOptions => ({
  host: settings.host,
  port: settings.port,
  secure: settings.security === 'tls',
  doSTARTTLS: settings.security === 'starttls' ? true : settings.security === 'none' ? false : undefined,
  auth: { user: settings.username, pass: settings.password },
  logger: false,
  disableAutoIdle: true,
  connectionTimeout: timeoutMs,
  greetingTimeout: timeoutMs,
  socketTimeout: timeoutMs,
  clientInfo: { name: 'strapi-plugin-multi-smtp' },
});

/** Turns what imapflow (or the socket) threw into an ImapPollError whose message holds no secret. */
export const describeImapError = (error: unknown, secrets: string[] = []): ImapPollError => {
  if (error instanceof ImapPollError) return error;
  const failure = (error ?? {}) as { message?: string; code?: string; responseText?: string; authenticationFailed?: boolean; serverResponseCode?: string };
  const authenticationFailed = failure.authenticationFailed === true || failure.serverResponseCode === 'AUTHENTICATIONFAILED';
  let text: string;
  if (authenticationFailed) text = `authentication failed${failure.responseText ? `: ${failure.responseText}` : ''}`;
  else text = failure.responseText || failure.message || String(error);
  for (const secret of secrets) if (secret) text = text.split(secret).join('***');
  text = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  return new ImapPollError(text, failure.code ?? failure.serverResponseCode ?? null, authenticationFailed);
};

/** Runs `task`, rejecting after `ms` (the connection is closed by the caller then). */
const within = async <T>(ms: number, what: string, task: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ImapPollError(`${what} took longer than ${ms} ms`, 'ETIMEOUT', false)), ms);
  });
  try {
    return await Promise.race([task, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** Polls one mailbox once (see the top of this file). Rejects with an ImapPollError; the connection is always closed. */
export const pollImapMailbox = async (settings: ImapMailboxSettings, hooks: ImapPollHooks, options: ImapPollOptions): Promise<ImapPollCounts> => {
  const counts = emptyCounts();
  const keyword = keywordOf(settings.processed);
  const client = new ImapFlow(imapOptionsOf(settings, options.timeoutMs));
  // A socket error after connect is also thrown by the pending command; this keeps it from being unhandled.
  client.on('error', () => undefined);
  // Every command is bounded by the socket timeout; this bounds what a server that trickles bytes could stretch.
  const step = <T>(what: string, task: Promise<T>) => within(options.timeoutMs * 2, what, task);
  let createdTarget = false;

  const mark = async (uid: number, outcome: ImapMessageOutcome) => {
    const range = String(uid);
    if (outcome === 'report' && 'flag' in settings.processed) {
      await step('STORE', client.messageFlagsAdd(range, ['\\Seen', keyword], { uid: true }));
      counts.flagged += 1;
      return;
    }
    await step('STORE', client.messageFlagsAdd(range, [keyword], { uid: true }));
    if (outcome === 'report' && 'moveTo' in settings.processed) {
      if (!createdTarget) {
        await step('CREATE', client.mailboxCreate(settings.processed.moveTo));
        createdTarget = true;
      }
      const moved = await step('MOVE', client.messageMove(range, settings.processed.moveTo, { uid: true }));
      if (moved === false) throw new ImapPollError(`moving message ${uid} to ${settings.processed.moveTo} failed`, 'MOVE', false);
      counts.moved += 1;
    }
  };

  try {
    await step('connecting', client.connect());
    const mailbox = await step('SELECT', client.mailboxOpen(settings.mailbox));
    const uidValidity = String(mailbox.uidValidity);
    counts.uidValidity = uidValidity;
    const found = await step('SEARCH', client.search({ unKeyword: keyword }, { uid: true }));
    const uids = (Array.isArray(found) ? found : []).sort((a, b) => a - b);
    counts.found = uids.length;
    const batch = uids.slice(0, options.maxMessages);
    counts.remaining = uids.length - batch.length;
    const done = await hooks.doneOf(uidValidity, uids);
    if (batch.length === 0) return counts;

    const sizes = new Map<number, number>();
    for (const message of await step('FETCH', client.fetchAll(batch.join(','), { uid: true, size: true }, { uid: true }))) {
      sizes.set(message.uid, message.size ?? 0);
    }

    for (const [index, uid] of batch.entries()) {
      if (!(await hooks.keepGoing())) {
        counts.remaining += batch.length - index;
        break;
      }
      const before = done.get(uid);
      if (before) {
        // Processed before, its mark failed: only the mark now.
        await mark(uid, before);
        counts.remarked += 1;
        continue;
      }
      if (!sizes.has(uid)) continue; // expunged meanwhile
      let outcome: ImapMessageOutcome = 'other';
      if ((sizes.get(uid) ?? 0) > options.maxBytes) {
        counts.tooLarge += 1;
      } else {
        const message = await step('FETCH', client.fetchOne(String(uid), { uid: true, source: true }, { uid: true }));
        if (!message || !message.source) continue; // expunged meanwhile
        outcome = await hooks.process(message.source, uid);
      }
      await hooks.recordDone(uidValidity, uid, outcome);
      counts.processed += 1;
      if (outcome === 'report') counts.reports += 1;
      else counts.other += 1;
      await mark(uid, outcome);
    }
    await step('LOGOUT', client.logout()).catch(() => undefined);
    return counts;
  } catch (error) {
    throw describeImapError(error, [settings.password]);
  } finally {
    client.close();
  }
};
