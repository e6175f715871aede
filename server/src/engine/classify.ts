/**
 * What one SMTP attempt's outcome means for the message and for the server that was tried.
 *
 * The sending engine hands over whatever nodemailer gave back (the info of a sent message, or the
 * error) and gets one of six outcomes, which decide what happens next:
 *
 *   accepted           the server took the message (it answered 250 to the end of DATA)
 *   server-transient   the server could not take it now: try ANOTHER server right away
 *   server-condemned   the server refuses us as configured (bad login, no relaying): suspend it, fail over
 *   recipient-hard     the recipient does not exist or is refused for good: a hard bounce, never retried
 *   recipient-soft     the recipient can't take mail right now (mailbox busy or full): retry later
 *   message-rejected   the message itself is refused (too big, spam, bad content): other servers won't help
 *
 * How a reply is read, in order (see {@link outcomeOfReply}):
 *   1. 421 ("closing the channel") and 454 (temporary failure, e.g. SES throttling) are about the server.
 *   2. Greylisting is about the recipient (the same triplet is accepted a few minutes later).
 *   3. X.4.5 (congestion, "daily sending quota exceeded") is about the server, whatever the stage.
 *   4. A 5xx naming an IP block list or a banned IP is about the server's IP: another server may be fine.
 *   5. Then by stage: before MAIL FROM anything is the server; MAIL FROM refusals are the server
 *      (4xx, 5.7.x, relaying) or the message (other 5xx); RCPT TO refusals are the recipient except
 *      relaying (server misconfigured) and 4.3.x/4.7.x (server trouble); DATA refusals are the
 *      message except 4xx local trouble (server) and mailbox problems (X.1.x, 4.2.x, 5.2.1, 5.2.2:
 *      the recipient, as LMTP-style servers answer per recipient after DATA).
 *
 * Reply texts are read with the addresses blanked out, so <relay@blocklist.example> can't pass
 * for "relay access denied" or a block list.
 *
 * nodemailer's errors are read by shape, never with `instanceof`: errors created by Node core come
 * from another realm under jest (and possibly elsewhere), where `instanceof Error` is false.
 */
import { getSystemErrorName } from 'node:util';

import type SMTPTransport from 'nodemailer/lib/smtp-transport';

export type AttemptOutcome =
  | 'accepted'
  | 'server-transient'
  | 'server-condemned'
  | 'recipient-hard'
  | 'recipient-soft'
  | 'message-rejected';

/** The step of the SMTP session where the attempt ended; null when it can't be told (a reset mid-session). */
export type AttemptStage = 'connect' | 'greeting' | 'tls' | 'auth' | 'mail' | 'rcpt' | 'data';

/** One recipient the server refused while it accepted the message for others (or while it refused everyone). */
export interface RejectedRecipient {
  recipient: string;
  outcome: 'recipient-hard' | 'recipient-soft';
  reply: string | null;
  enhancedStatus: string | null;
}

export interface Classification {
  outcome: AttemptOutcome;
  /** The server's reply code (250, 421, 550...), null when no reply came (refused, timed out, reset). */
  replyCode: number | null;
  /** The RFC 3463 enhanced status code ("5.1.1"), when the server gave one. */
  enhancedStatus: string | null;
  /** The server's reply as received (multi-line replies joined with '\n'). */
  reply: string | null;
  stage: AttemptStage | null;
  /** nodemailer's error code (EENVELOPE, EAUTH...), or the socket's own (ECONNREFUSED) where nodemailer hid it, or ETLS. */
  errorCode: string | null;
  /**
   * May the message still be delivered by trying again: on another server now (server-transient,
   * server-condemned) or later (recipient-soft)? False once accepted or refused for good.
   */
  retryable: boolean;
  /** One line for logs and the admin: what happened and where. */
  summary: string;
  /**
   * Recipients the server refused: with 'accepted', the ones left out of a partial acceptance; with a
   * recipient outcome, every refused recipient with its own verdict. Empty otherwise.
   */
  rejectedRecipients: RejectedRecipient[];
}

/** What nodemailer puts on its errors (and Node on socket errors), all optional: read by shape. */
interface SmtpErrorShape {
  message?: unknown;
  code?: unknown;
  response?: unknown;
  responseCode?: unknown;
  command?: unknown;
  errno?: unknown;
  syscall?: unknown;
  /** OpenSSL errors carry these; nodemailer keeps them when it overwrites `code`. */
  library?: unknown;
  reason?: unknown;
  rejected?: unknown;
  rejectedErrors?: unknown;
  recipient?: unknown;
}

/** The parts of a sent message's info this module reads (nodemailer's SMTP info, or a lookalike). */
type SentInfo = Pick<SMTPTransport.SentMessageInfo, 'accepted' | 'rejected' | 'response'> & {
  rejectedErrors?: unknown;
};

const RETRYABLE: Record<AttemptOutcome, boolean> = {
  accepted: false,
  'server-transient': true,
  'server-condemned': true,
  'recipient-hard': false,
  'recipient-soft': true,
  'message-rejected': false,
};

const OUTCOME_LABEL: Record<AttemptOutcome, string> = {
  accepted: 'Accepted',
  'server-transient': 'Server unavailable for now (trying another server)',
  'server-condemned': 'Server refuses us as configured (suspending it)',
  'recipient-hard': 'Recipient refused for good',
  'recipient-soft': 'Recipient unavailable for now (retry later)',
  'message-rejected': 'Message refused',
};

const STAGE_LABEL: Record<AttemptStage, string> = {
  connect: 'connecting',
  greeting: 'the greeting',
  tls: 'TLS',
  auth: 'login',
  mail: 'MAIL FROM',
  rcpt: 'RCPT TO',
  data: 'DATA',
};

/** The first word(s) of nodemailer's `command` -> the stage. 'API' and 'RSET' say nothing about the server's step. */
const STAGE_OF_COMMAND: Record<string, AttemptStage> = {
  EHLO: 'greeting',
  HELO: 'greeting',
  LHLO: 'greeting',
  STARTTLS: 'tls',
  AUTH: 'auth',
  MAIL: 'mail',
  RCPT: 'rcpt',
  DATA: 'data',
};

/** Node socket errors that happen while opening the connection. */
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** nodemailer codes for a message it could not even build or send (not the server's doing). */
const MESSAGE_ERROR_CODES = new Set(['EMESSAGE', 'EENVELOPE', 'ESTREAM', 'EFILEACCESS', 'EURLACCESS', 'EFETCH']);

/** Relaying refused: "Relay access denied", "Relaying denied", "Unable to relay", "Relay not permitted". */
const RELAY_TEXT =
  /\brelay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|disallowed|prohibited|refused)|\b(?:unable|not permitted|not allowed) to relay|\bdo(?:es)? not relay/i;
/** A refusal aimed at the sending IP, not the message: block lists, banned or listed IPs. */
const IP_BLOCK_TEXT = new RegExp(
  [
    'spamhaus|spamcop|barracuda|sorbs|dnsbl|rbl|block ?list(?:ed)?|black ?list(?:ed)?',
    'banned sending ip|client host \\S+ blocked',
    'ip (?:address )?(?:\\S+ )?(?:is |has been )?(?:blocked|banned|listed)',
    'reputation of (?:the |your )?(?:sending )?ip|ip (?:address )?reputation',
  ]
    .map((alternatives) => `\\b(?:${alternatives})`)
    .join('|'),
  'i'
);
const GREYLIST_TEXT = /\bgr[ae]y ?list/i;
/** "Daily user sending quota exceeded", "sending limit exceeded": the account, not the message. */
const SENDING_QUOTA_TEXT = /\bsending (?:quota|limit)\b.*\b(?:exceeded|reached)\b/i;

/**
 * Reads the reply code and the enhanced status code off a server reply.
 *
 * `"550 5.1.1 <x@y>: User unknown"` -> `{ code: 550, enhanced: '5.1.1' }`; multi-line replies
 * (`"421-4.7.0 ...\n421 4.7.0 ..."`) are read from their first line; anything unreadable gives nulls.
 */
export function parseSmtpReply(text: string): { code: number | null; enhanced: string | null } {
  const firstLine = text.trimStart().split(/\r?\n/, 1)[0] ?? '';
  const codeMatch = /^([2-5]\d\d)(?=[ -]|$)[ -]?/.exec(firstLine);
  const code = codeMatch?.[1] ? Number(codeMatch[1]) : null;
  const rest = codeMatch ? firstLine.slice(codeMatch[0].length) : firstLine;
  // RFC 3463: class.subject.detail, class 2, 4 or 5, subject and detail up to three digits.
  const enhancedMatch = /^\s*([245]\.\d{1,3}\.\d{1,3})(?![\d.])/.exec(rest);
  return { code, enhanced: enhancedMatch?.[1] ?? null };
}

function asShape(value: unknown): SmtpErrorShape | null {
  return typeof value === 'object' && value !== null ? (value as SmtpErrorShape) : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : null;
}

function messageOf(error: SmtpErrorShape | null, thrown: unknown): string {
  const message = error ? stringOrNull(error.message) : null;
  return message ?? (typeof thrown === 'string' ? thrown : 'unknown error');
}

/**
 * Certificate and handshake problems: nodemailer reports most of them as ESOCKET, so they are told
 * by their text. Only without a server reply: a reply that mentions TLS is the server talking.
 */
function isTlsFailure(error: SmtpErrorShape, message: string, hasReply: boolean): boolean {
  if (error.code === 'ETLS') return true;
  if (hasReply) return false;
  return (
    typeof error.library === 'string' ||
    /certificate|self[- ]signed|\bssl\b|\btls\b|wrong version number|handshake|unable to verify/i.test(message)
  );
}

/** The socket's own code (ECONNREFUSED...) where nodemailer replaced it with ESOCKET; kept in `errno`. */
function socketErrorName(error: SmtpErrorShape): string | null {
  if (typeof error.errno !== 'number' || error.errno >= 0) return null;
  try {
    return getSystemErrorName(error.errno);
  } catch {
    return null;
  }
}

function errorCodeOf(error: SmtpErrorShape, message: string, hasReply: boolean): string | null {
  if (isTlsFailure(error, message, hasReply)) return 'ETLS';
  const code = typeof error.code === 'string' ? error.code : null;
  if (code === null || code === 'ESOCKET') return socketErrorName(error) ?? code;
  return code;
}

function stageOf(
  error: SmtpErrorShape,
  errorCode: string | null,
  message: string,
  hasReply: boolean
): AttemptStage | null {
  if (errorCode === 'EAUTH' || errorCode === 'ENOAUTH') return 'auth';
  if (errorCode === 'ETLS') return 'tls';
  const command = typeof error.command === 'string' ? error.command.trim().toUpperCase() : '';
  const fromCommand = STAGE_OF_COMMAND[command.split(' ', 1)[0] ?? ''];
  if (fromCommand) return fromCommand;
  if (command !== 'CONN' && command !== '') return null;
  // 'CONN' covers the whole life of the socket: tell the cases apart by what is known.
  if (/greeting/i.test(message)) return 'greeting';
  // A reply before any command is the greeting ("421 Service not available" instead of 220).
  if (hasReply) return 'greeting';
  if (/connection timeout/i.test(message) || errorCode === 'EDNS') return 'connect';
  if (error.syscall === 'connect' || error.syscall === 'getaddrinfo') return 'connect';
  if (errorCode !== null && CONNECT_ERROR_CODES.has(errorCode)) return 'connect';
  // A reset, a close or a socket timeout in mid-session: the error doesn't say which step was running.
  return null;
}

/** The enhanced code's subject ("5.1.1" -> 1), or null. */
function subjectOf(enhanced: string | null): number | null {
  const subject = enhanced?.split('.')[1];
  return subject === undefined ? null : Number(subject);
}

/**
 * The outcome of one error reply from the server at a known stage. This is the heart of the
 * module; the rules are listed in the header comment.
 */
function outcomeOfReply(
  code: number,
  enhanced: string | null,
  reply: string,
  stage: AttemptStage | null
): AttemptOutcome {
  const permanent = code >= 500;
  const subject = subjectOf(enhanced);
  const policy = subject === 7; // X.7.x: security or policy status
  // Read the words, not the addresses: <relay@blocklist.example> says nothing about relaying.
  const text = reply.replace(/<[^>]*>/g, '<>');

  if (code === 421 || code === 454) return 'server-transient';
  if (!permanent && GREYLIST_TEXT.test(text)) return 'recipient-soft';
  // X.4.5: mail system congestion; Gmail uses 5.4.5 for "daily sending quota exceeded".
  if (/^[45]\.4\.5$/.test(enhanced ?? '') || SENDING_QUOTA_TEXT.test(text)) return 'server-transient';
  if (permanent && (policy || subject === null) && IP_BLOCK_TEXT.test(text)) return 'server-transient';

  switch (stage) {
    case 'connect':
    case 'greeting':
    case 'tls':
    case 'auth':
      // Refused before any mail was discussed: the server, not the message. A 5xx here (bad login,
      // "554 no SMTP service for you", STARTTLS refused) will not change by itself.
      return permanent ? 'server-condemned' : 'server-transient';

    case null:
      // A reply to a step nodemailer doesn't name (RSET on a reused connection): nothing points at
      // the message, and a single odd reply shouldn't condemn a server. Repeats open the breaker.
      return 'server-transient';

    case 'mail':
      if (!permanent) return 'server-transient';
      // 530 authentication required, 5.7.x sender not allowed, relaying refused: misconfigured.
      if (code === 530 || policy || RELAY_TEXT.test(text) || /authenticat/i.test(text)) return 'server-condemned';
      // 5.1.x bad sender address, 5.3.4 too big (SIZE=), syntax: it's this message.
      return 'message-rejected';

    case 'rcpt':
      if (!permanent) {
        // 4.3.x: the server's own trouble (451 local error, 452 insufficient storage); 4.7.x: reputation/rate.
        if (subject === 3 || policy) return 'server-transient';
        if (subject === null && code === 451) return 'server-transient';
        // 4.2.x mailbox busy or full, 4.1.x unverified address, 4.5.3 too many recipients, 4.4.x can't reach the domain.
        return 'recipient-soft';
      }
      if (RELAY_TEXT.test(text) || code === 530) return 'server-condemned';
      // 5.1.x unknown user / bad domain / bad address, 5.2.x mailbox disabled, 5.7.x refused by policy...
      return 'recipient-hard';

    case 'data':
      if (!permanent) {
        // 452 4.2.2 mailbox full, for one recipient (LMTP answers per recipient after DATA).
        if (subject === 2) return 'recipient-soft';
        return 'server-transient';
      }
      // 5.1.x unknown user, 5.2.1 mailbox disabled, 5.2.2 mailbox full: LMTP-style answers per recipient.
      if (subject === 1 || enhanced === '5.2.1' || enhanced === '5.2.2') return 'recipient-hard';
      // 552 size (also 5.2.3), 554 5.7.1 spam, 5.6.x content: no other server will take it either.
      return 'message-rejected';
  }
}

/** Recipients are strings or `{ name, address }` in nodemailer's info. */
function addressOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const address = (value as { address?: unknown } | null)?.address;
  return typeof address === 'string' ? address : String(value);
}

function classifyRecipientReply(
  reply: string | null
): RejectedRecipient['outcome'] | 'server-transient' | 'server-condemned' {
  if (reply === null) return 'recipient-soft';
  const { code, enhanced } = parseSmtpReply(reply);
  if (code === null || code < 400) return 'recipient-soft';
  const outcome = outcomeOfReply(code, enhanced, reply, 'rcpt');
  return outcome === 'recipient-hard' || outcome === 'server-transient' || outcome === 'server-condemned'
    ? outcome
    : 'recipient-soft';
}

interface RecipientVerdict extends RejectedRecipient {
  /** The verdict before folding server-level outcomes into 'recipient-soft' (used for the overall outcome). */
  full: ReturnType<typeof classifyRecipientReply>;
}

function recipientVerdicts(source: { rejected?: unknown; rejectedErrors?: unknown }): RecipientVerdict[] {
  const errors = Array.isArray(source.rejectedErrors) ? source.rejectedErrors.map(asShape) : [];
  const replyByRecipient = new Map<string, string | null>();
  for (const error of errors) {
    if (!error) continue;
    const recipient = stringOrNull(error.recipient);
    if (recipient !== null) replyByRecipient.set(recipient.toLowerCase(), stringOrNull(error.response));
  }
  const rejected = Array.isArray(source.rejected) ? source.rejected.map(addressOf) : [];
  return rejected.map((recipient) => {
    const reply = replyByRecipient.get(recipient.toLowerCase()) ?? null;
    const full = classifyRecipientReply(reply);
    return {
      recipient,
      // Per recipient only two verdicts exist: refused for good, or worth another try. A recipient
      // refused for server reasons (relaying, 4.7.x) may well go through another server later.
      outcome: full === 'recipient-hard' ? 'recipient-hard' : 'recipient-soft',
      reply,
      enhancedStatus: reply === null ? null : parseSmtpReply(reply).enhanced,
      full,
    };
  });
}

/**
 * The recipients a server refused at RCPT TO, each with its own verdict: for the partial acceptance
 * of a sent message (info.accepted and info.rejected both non-empty), or for an error where every
 * recipient was refused (nodemailer puts `rejected` and `rejectedErrors` on both).
 *
 * A recipient without a recorded reply is 'recipient-soft': no evidence, no hard bounce.
 */
export function classifyRejectedRecipients(source: {
  rejected?: unknown;
  rejectedErrors?: unknown;
}): RejectedRecipient[] {
  return recipientVerdicts(source).map(({ full: _full, ...verdict }) => verdict);
}

/** When a server refused several recipients, the verdict that matters most for the message wins. */
const RECIPIENT_OUTCOME_PRECEDENCE = [
  'server-condemned',
  'server-transient',
  'recipient-soft',
  'recipient-hard',
] as const;

function summarize(outcome: AttemptOutcome, stage: AttemptStage | null, detail: string): string {
  const where = stage ? ` at ${STAGE_LABEL[stage]}` : '';
  return `${OUTCOME_LABEL[outcome]}${where}: ${detail}`;
}

function classifyInfo(info: SentInfo): Classification {
  const reply = stringOrNull(info.response);
  const { code, enhanced } = reply === null ? { code: null, enhanced: null } : parseSmtpReply(reply);
  const verdicts = recipientVerdicts(info);
  const rejectedRecipients = verdicts.map(({ full: _full, ...verdict }) => verdict);
  const acceptedCount = Array.isArray(info.accepted) ? info.accepted.length : 0;

  // LMTP can accept the message and then refuse every recipient: nobody got it.
  if (acceptedCount === 0 && verdicts.length > 0) {
    const soft = verdicts.some(({ outcome }) => outcome === 'recipient-soft');
    const outcome: AttemptOutcome = soft ? 'recipient-soft' : 'recipient-hard';
    const first = verdicts.find((verdict) => verdict.outcome === outcome) ?? verdicts[0];
    return {
      outcome,
      replyCode: first?.reply ? parseSmtpReply(first.reply).code : code,
      enhancedStatus: first?.enhancedStatus ?? enhanced,
      reply: first?.reply ?? reply,
      stage: 'data',
      errorCode: null,
      retryable: RETRYABLE[outcome],
      summary: summarize(outcome, 'data', first?.reply ?? 'every recipient was refused'),
      rejectedRecipients,
    };
  }

  const partial = verdicts.length > 0 ? ` (${verdicts.length} recipient(s) refused)` : '';
  return {
    outcome: 'accepted',
    replyCode: code,
    enhancedStatus: enhanced,
    reply,
    stage: 'data',
    errorCode: null,
    retryable: false,
    summary: `${OUTCOME_LABEL.accepted}${partial}: ${reply ?? 'no reply text'}`,
    rejectedRecipients,
  };
}

function classifyError(thrown: unknown): Classification {
  const error = asShape(thrown) ?? {};
  const message = messageOf(asShape(thrown), thrown);
  const reply = stringOrNull(error.response);
  const parsed = reply === null ? { code: null, enhanced: null } : parseSmtpReply(reply);
  const replyCode = parsed.code ?? (typeof error.responseCode === 'number' ? error.responseCode : null);
  const enhancedStatus = parsed.enhanced;
  const errorCode = errorCodeOf(error, message, reply !== null);
  const stage = stageOf(error, errorCode, message, replyCode !== null);

  const result = (outcome: AttemptOutcome, rejectedRecipients: RejectedRecipient[] = []): Classification => ({
    outcome,
    replyCode,
    enhancedStatus,
    reply,
    stage,
    errorCode,
    retryable: RETRYABLE[outcome],
    summary: summarize(outcome, stage, reply ?? message),
    rejectedRecipients,
  });

  // Every recipient refused at RCPT TO: weigh each recipient's reply, not just the last one.
  if (stage === 'rcpt' && Array.isArray(error.rejected) && error.rejected.length > 0) {
    const verdicts = recipientVerdicts(error);
    const rejectedRecipients = verdicts.map(({ full: _full, ...verdict }) => verdict);
    const winner = RECIPIENT_OUTCOME_PRECEDENCE.find((outcome) => verdicts.some(({ full }) => full === outcome));
    const deciding = verdicts.find(({ full }) => full === winner);
    if (winner && deciding?.reply) {
      const decidingParsed = parseSmtpReply(deciding.reply);
      return {
        ...result(winner, rejectedRecipients),
        replyCode: decidingParsed.code,
        enhancedStatus: decidingParsed.enhanced,
        reply: deciding.reply,
        summary: summarize(winner, stage, deciding.reply),
      };
    }
  }

  if (replyCode !== null && replyCode >= 400) {
    return result(outcomeOfReply(replyCode, enhancedStatus, reply ?? '', stage));
  }

  // No usable reply: decide by nodemailer's code.
  if (errorCode === 'EAUTH' || errorCode === 'ENOAUTH') {
    // Missing credentials or no common login method: a configuration problem.
    return result('server-condemned');
  }
  if (errorCode !== null && MESSAGE_ERROR_CODES.has(errorCode)) {
    // Refused before a byte was sent: no recipients, a malformed address, over the announced SIZE,
    // an attachment that couldn't be read. The message has to change first.
    return result('message-rejected');
  }
  // Refused, reset, timed out, TLS failure, dropped mid-DATA, unknown: try another server.
  return result('server-transient');
}

/**
 * Classify one attempt from what nodemailer gave back: `{ info }` when `sendMail` resolved,
 * `{ error }` when it threw. Never throws.
 */
export function classifyAttempt(result: { info?: SMTPTransport.SentMessageInfo; error?: unknown }): Classification {
  if (result.error !== undefined && result.error !== null) return classifyError(result.error);
  if (result.info) return classifyInfo(result.info);
  return classifyError(new Error('No result: neither info nor error was given'));
}
