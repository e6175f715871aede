/**
 * Reads an asynchronous bounce (a whole RFC 822 message) and tells what it reports:
 *
 *   bounce      a delivery status notification: RFC 3464 (message/delivery-status), the human
 *               text of MTAs that send none (qmail, Exim, old Sendmail, Exchange, Yahoo...), or an
 *               Amazon SES notification mailed through SNS
 *   complaint   an ARF feedback report (RFC 5965, message/feedback-report), Microsoft's JMRP
 *               report, or an SES complaint notification
 *   auto-reply  a vacation / out-of-office answer (RFC 3834 and the common non-standard marks)
 *   other       anything else (a delivery report that says every recipient got the message, too)
 *
 * For each recipient reported on: the address, the enhanced status code (RFC 3463), the SMTP reply
 * code, a reason name (Sisimai's vocabulary), hard or soft, and the ARF feedback type.
 *
 * Plain TypeScript, no I/O and no Strapi. It never throws: garbage gives kind 'other'.
 *
 * Anyone who can mail the bounce address chooses this input, so the work is linear in it and
 * bounded (test/unit/bounce-fuzz.test.ts keeps it so):
 *   - the input is capped (maxBytes, 2 MiB), MIME nesting and part counts (bounce/mime.ts), header
 *     fields and their lengths, the text the heuristics scan (MAX_SCAN), its lines (MAX_LINES) and
 *     each line's length (MAX_LINE: a real DSN's useful lines are short; a longer one is cut before
 *     any pattern sees it), and the recipients (MAX_RECIPIENTS);
 *   - no pattern has two unbounded quantifiers over the same characters next to each other (or with
 *     only optional parts between them), nested quantifiers, or overlapping alternatives under a
 *     repetition: such patterns backtrack quadratically (or worse) on a long run of what they
 *     repeat. Leading whitespace and decoration are stripped with string operations instead.
 * For the inbound endpoint the parse also runs off the event loop, in a worker thread with a time
 * limit (bounce-parse-pool.ts).
 */
import {
  header,
  headerAll,
  parseHeaderBlock,
  parseMime,
  splitHeaderBody,
  walk,
  type MimeHeader,
  type MimePart,
} from './bounce/mime';
import {
  decideReason,
  findReplyCode,
  findStatus,
  isHardBounce,
  isTemporary,
  preferStatus,
  pseudoStatus,
} from './bounce/reasons';
import {
  POWERMTA_CATEGORIES,
  commandOfText,
  detectFormat,
  hintOf,
  providerHint,
  type BounceFormat,
} from './bounce/formats';

export type BounceKind = 'bounce' | 'complaint' | 'auto-reply' | 'other';

export interface BouncedRecipient {
  recipient: string;
  status: string | null;
  replyCode: string | null;
  hardBounce: boolean;
  reason: string;
  feedbackType: string | null;
  diagnostic: string | null;
  /** The DSN action (failed, delayed, delivered...) when the report gives one. */
  action?: string | null;
  /** The SMTP command the remote server was answering (MAIL, RCPT, DATA...), when known. */
  smtpCommand?: string | null;
}

export interface ParsedBounce {
  kind: BounceKind;
  recipients: BouncedRecipient[];
  originalMessageId: string | null;
  /** Headers of the returned message (lower-cased names, first occurrence), e.g. x-multi-smtp-id, message-id. */
  originalHeaders: Record<string, string>;
  /** The address the bounce was sent to (a VERP return path carries the message's identity). */
  verpAddress?: string | null;
}

export interface ParseBounceOptions {
  /** Bytes read from the input; the rest is ignored. Default 2 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
/** Longest text the heuristics scan (a DSN's human-readable part is a few kB). */
const MAX_SCAN = 64 * 1024;
const MAX_RECIPIENTS = 100;
/** Lines of a text the line-by-line heuristics look at. */
const MAX_LINES = 3000;
/**
 * Characters of one line the heuristics look at: the lines that name a recipient, a reason or a
 * marker are short (SMTP limits a reply line to 512 octets, RFC 5321 4.5.3.1.5); a longer line is
 * cut to this before matching, so no pattern ever runs over a huge line.
 */
const MAX_LINE = 2000;
/** Characters of a header value (or a DSN field) that are looked at. */
const MAX_VALUE = 8000;
/** A forwarded bounce is read inside its envelope this many levels deep. */
const MAX_FORWARD_DEPTH = 2;

const EMPTY: () => ParsedBounce = () => ({
  kind: 'other',
  recipients: [],
  originalMessageId: null,
  originalHeaders: {},
  verpAddress: null,
});

export function parseBounce(raw: string | Buffer, options: ParseBounceOptions = {}): Promise<ParsedBounce> {
  return Promise.resolve(parseBounceSync(raw, options));
}

/** parseBounce without the promise (what the parsing worker thread runs). Never throws. */
export function parseBounceSync(raw: string | Buffer, options: ParseBounceOptions = {}): ParsedBounce {
  try {
    return parseRaw(raw, options);
  } catch {
    return EMPTY();
  }
}

/**
 * An mbox "From " separator line: "From sender Thu Apr 29 23:45:32 2025" (with its asctime date), not
 * a body line that starts with "From ". Matched against at most the line's first 300 characters.
 */
const FROM_LINE = /^From \S{1,300} +\S.{0,200}\b\d{1,2}:\d{2}(?::\d{2})?\b.{0,60}\b\d{4}\b/;

/** Whether the line starting at `at` in `text` is an mbox separator. */
function isFromLine(text: string, at: number): boolean {
  if (!text.startsWith('From ', at)) return false;
  const nl = text.indexOf('\n', at);
  const line = text.slice(at, Math.min(nl < 0 ? text.length : nl, at + 300));
  return FROM_LINE.test(line.endsWith('\r') ? line.slice(0, -1) : line);
}

/** Whether a text starts like an mbox (its first line is a "From " separator with its date). */
export function startsLikeMbox(text: string): boolean {
  return isFromLine(text, 0);
}

/** Where each mbox separator line starts (at the start of the text or after an empty line). */
function mboxSeparators(text: string, max: number): number[] {
  const starts: number[] = [];
  if (isFromLine(text, 0)) starts.push(0);
  for (let at = text.indexOf('\nFrom '); at >= 0 && starts.length < max; at = text.indexOf('\nFrom ', at + 1)) {
    // After an empty line ("\n\n" or "\n\r\n") only.
    const previousEmpty = text[at - 1] === '\n' || (text[at - 1] === '\r' && text[at - 2] === '\n');
    if (previousEmpty && isFromLine(text, at + 1)) starts.push(at + 1);
  }
  return starts;
}

/**
 * Splits an mbox (mboxo or mboxrd) into its messages: a "From " line with its asctime date, at the
 * start of the text or after an empty line, starts a message (the line itself is dropped); ">From "
 * quoting of body lines is undone; text before the first separator is a message of its own. Works
 * on latin1 strings, so bytes pass through unchanged. Linear: separators are found with indexOf,
 * never line by line. The plugin's one mbox splitter (the inbound endpoint, the tools and the tests
 * use it). At most `max` messages.
 */
export function splitMboxText(text: string, max = 10_000): string[] {
  const starts = mboxSeparators(text, max);
  const pieces: string[] = [];
  // Text before the first separator, its leading blank lines dropped.
  const head = text.slice(0, starts.length ? Math.max(0, starts[0]! - 1) : text.length);
  pieces.push(head.replace(/^(?:[^\S\n]*\n)+/, ''));
  for (let i = 0; i < starts.length; i++) {
    const nl = text.indexOf('\n', starts[i]!);
    const bodyStart = nl < 0 ? text.length : nl + 1;
    // Up to the line end before the next separator (the empty line's own end is the mbox's).
    const next = i + 1 < starts.length ? starts[i + 1]! - 1 : text.length;
    pieces.push(text.slice(bodyStart, Math.max(bodyStart, next)));
  }
  const out: string[] = [];
  for (const piece of pieces) {
    if (!piece.trim()) continue;
    // The empty line before each separator belongs to the mbox, not to the message.
    let message = piece.replace(/\r?\n$/, '');
    if (message.includes('>From ')) message = message.replace(/^>(>*From )/gm, '$1');
    out.push(message);
  }
  return out;
}

/**
 * splitMboxText over bytes, the messages as Buffers (a latin1 round trip: bytes unchanged). A text
 * that is not an mbox comes back alone and untouched (even when empty).
 */
export function splitMbox(raw: string | Buffer, max = 10_000): Buffer[] {
  try {
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw), 'utf8');
    const text = buf.toString('latin1');
    if (!mboxSeparators(text, 1).length) return [buf];
    return splitMboxText(text, max).map((m) => Buffer.from(m, 'latin1'));
  } catch {
    return [];
  }
}

/** Each line of `text` cut to `max` characters, at most `maxLines` lines (linear, no regex). */
export function capLines(text: string, max = MAX_LINE, maxLines = Infinity): string {
  let out = '';
  let at = 0;
  for (let n = 0; at <= text.length && n < maxLines; n++) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    out += (n ? '\n' : '') + (end - at > max ? text.slice(at, at + max) : text.slice(at, end));
    if (nl < 0) break;
    at = nl + 1;
  }
  return out;
}

/** Lines of a text (CR LF or LF), at most MAX_LINES, each cut to MAX_LINE characters. */
function linesOf(text: string, maxLines = MAX_LINES): string[] {
  const out: string[] = [];
  let at = 0;
  while (out.length < maxLines) {
    const nl = text.indexOf('\n', at);
    let end = nl < 0 ? text.length : nl;
    if (end > at && text.charCodeAt(end - 1) === 13) end--;
    out.push(end - at > MAX_LINE ? text.slice(at, at + MAX_LINE) : text.slice(at, end));
    if (nl < 0) break;
    at = nl + 1;
  }
  return out;
}

const ADDRESS_RE = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,8}[A-Za-z]{2,24}/g;
const ADDRESS_ONE = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,8}[A-Za-z]{2,24}/;

function firstAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = ADDRESS_ONE.exec(value.slice(0, 2000));
  return m ? m[0].replace(/^[.'`]+|[.'`]+$/g, '') : null;
}

function normStatus(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(value);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** The last SMTP command a text names (in protocol order), e.g. "in reply to RCPT TO command" -> RCPT. */
export function findCommand(text: string | null | undefined): string | null {
  if (!text) return null;
  const t = text.slice(0, 8000);
  const stages: Array<[string, RegExp]> = [
    ['CONN', /\b(?:CONN|after initial connection|during greeting|connection to [^\n]{1,80} (?:refused|failed))\b/g],
    ['HELO', /\bHELO\b/g],
    ['EHLO', /\bEHLO\b/g],
    ['STARTTLS', /\bSTARTTLS\b/g],
    ['AUTH', /\bAUTH (?:PLAIN|LOGIN|CRAM-|DIGEST-)/g],
    ['MAIL', /\bMAIL F(?:ROM|rom)?\b|\bMAIL\b(?= command)/g],
    ['RCPT', /\bRCPT\b/g],
    ['DATA', /\bDATA\b|\bend of data\b/g],
  ];
  let pos = 0;
  let found: string | null = null;
  for (const [name, re] of stages) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) continue;
    pos = m.index;
    found = name;
  }
  return found;
}

function htmlToText(html: string): string {
  return html
    .slice(0, MAX_SCAN)
    // [^<>], not [^>]: a run of "<" without ">" would otherwise be rescanned from every "<".
    .replace(/<(?:br|p|div|tr|li)\b[^<>]{0,500}>/gi, '\n')
    .replace(/<[^<>]{0,2000}>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

function headersRecord(headers: MimeHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers) if (!(h.name in out)) out[h.name] = h.value;
  return out;
}

/**
 * Markers after which a non-MIME bounce quotes the returned message, matched at the start of a line
 * after its indentation and an optional decoration ("--", "==", "**") have been stripped
 * (returnedMarker). Anchored, no leading quantifier: the old single pattern
 * /^[ \t]*(?:-{2,}|={2,}|\*{2,})?[ \t]*(?:...)/im had two [ \t]* with only an optional group between
 * them and backtracked quadratically on a long line of spaces and tabs.
 */
const RETURNED_PHRASES =
  /^(?:this is a copy of the message|below this line is a copy|original message follows|original message headers|returned message follows|unsent message (?:below|follows)|message headers follow|headers of the original message|the header of the original message|included is a copy of the message header|original mail as follows|\|{3}|original message|rfc822 message|the headers of your message|content-type: message\/rfc822|undelivered message|the original message headers|-{3}original (?:message|mail info)|below is a copy of the original message)/i;

/** Index just past a run of `ch` starting at `at` in `s`. */
function skipRun(s: string, at: number, ch: string): number {
  while (s[at] === ch) at++;
  return at;
}

/** Index just past the spaces and tabs starting at `at`. */
function skipBlank(s: string, at: number): number {
  while (s[at] === ' ' || s[at] === '\t') at++;
  return at;
}

/**
 * The first line of `text` that marks the start of a returned message: where that line starts and
 * where the next one does. Line by line, each line's first 200 characters (the marker opens a line).
 */
function returnedMarker(text: string): { start: number; next: number } | null {
  let at = 0;
  for (let n = 0; n < MAX_LINES && at < text.length; n++) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(at, Math.min(end, at + 200));
    let i = skipBlank(line, 0);
    const c = line[i];
    if (RETURNED_PHRASES.test(line.slice(i))) return { start: at, next: nl < 0 ? text.length : nl + 1 };
    if ((c === '-' || c === '=' || c === '*') && line[i + 1] === c) {
      i = skipBlank(line, skipRun(line, i, c));
      if (RETURNED_PHRASES.test(line.slice(i))) return { start: at, next: nl < 0 ? text.length : nl + 1 };
    }
    if (nl < 0) break;
    at = nl + 1;
  }
  return null;
}

/** Header names that mark the start of a quoted message inside a text. */
const QUOTED_HEADER =
  /^(?:Return-Path|Received|Message-I[Dd]|MIME-Version|DKIM-Signature|X-[A-Za-z0-9-]{1,60}|Delivered-To|Authentication-Results):[ \t]/;
const ANY_HEADER = /^[A-Za-z0-9-]{1,60}:[ \t]?\S/;

/** Index of the line where a quoted header block (a returned message without a marker) begins, or -1. */
function quotedHeaderStart(lines: string[]): number {
  for (let i = 1; i < lines.length && i < MAX_LINES; i++) {
    const line = lines[i] ?? '';
    if (!QUOTED_HEADER.test(line)) continue;
    let headers = 0;
    let strong = 0;
    for (let j = i; j < lines.length && j < i + 10; j++) {
      const l = lines[j] ?? '';
      if (!l.trim()) break;
      if (/^[ \t]/.test(l)) continue;
      if (!ANY_HEADER.test(l)) break;
      headers++;
      if (QUOTED_HEADER.test(l)) strong++;
    }
    if (headers >= 3 && strong >= 1) return i;
  }
  return -1;
}

interface Collected {
  dsn: string[];
  feedback: string[];
  texts: string[];
  returned: MimeHeader[] | null;
  /** Messages attached whole (message/rfc822), for a bounce forwarded inside another message. */
  attached: MimePart[];
}

function collect(root: MimePart): Collected {
  const out: Collected = { dsn: [], feedback: [], texts: [], returned: null, attached: [] };
  const insideReturned = new Set<MimePart>();
  const htmlTexts: string[] = [];
  walk(root, (p, parent) => {
    if (parent && insideReturned.has(parent)) {
      insideReturned.add(p);
      return;
    }
    const t = p.contentType;
    if (t === 'message/delivery-status' || t === 'message/global-delivery-status') {
      out.dsn.push(p.body);
      return;
    }
    if (t === 'message/feedback-report') {
      out.feedback.push(p.body);
      return;
    }
    if (t === 'message/rfc822' || t === 'message/global' || t === 'message/partial') {
      const inner = p.children[0];
      if (inner) {
        if (!out.returned) out.returned = inner.headers;
        out.attached.push(inner);
      }
      insideReturned.add(p);
      return;
    }
    if (t === 'text/rfc822-headers' || t === 'message/rfc822-headers' || t === 'text/rfc822-header') {
      if (!out.returned) out.returned = parseHeaderBlock(splitHeaderBody(p.body.replace(/^\s+/, '')).head);
      return;
    }
    if (p.children.length) {
      if (p.body) out.texts.push(p.body);
      return;
    }
    // A multipart whose boundary never appears is read as plain text.
    if (t === 'text/plain' || t === 'text' || t === 'text/enriched' || t.startsWith('multipart/'))
      out.texts.push(p.body.slice(0, MAX_SCAN));
    else if (t === 'text/html') htmlTexts.push(htmlToText(p.body));
  });
  // HTML renderings only when there is no plain text.
  if (!out.texts.some((x) => x.trim())) out.texts.push(...htmlTexts);
  return out;
}

interface DsnRecord {
  fields: Record<string, string>;
}

function parseDsnBody(body: string): { perMessage: Record<string, string>; records: DsnRecord[] } {
  const headers = parseHeaderBlock(capLines(body.slice(0, MAX_SCAN)).replace(/\r?\n[ \t]*\r?\n/g, '\n'));
  const perMessage: Record<string, string> = {};
  const records: DsnRecord[] = [];
  let current: DsnRecord | null = null;
  for (const h of headers) {
    if (h.name === 'final-recipient' || h.name === 'original-recipient' || h.name === 'x-actual-recipient') {
      const startNew =
        !current ||
        (h.name === 'final-recipient' && 'final-recipient' in current.fields) ||
        (h.name === 'original-recipient' &&
          ('original-recipient' in current.fields ||
            ('final-recipient' in current.fields && ('status' in current.fields || 'action' in current.fields))));
      if (h.name === 'x-actual-recipient' && current) {
        if (!(h.name in current.fields)) current.fields[h.name] = h.value;
        continue;
      }
      if (startNew) {
        current = { fields: {} };
        records.push(current);
      }
    }
    const target = current ? current.fields : perMessage;
    if (!(h.name in target)) target[h.name] = h.value;
    else if (h.name === 'diagnostic-code') target[h.name] += ' ' + h.value;
  }
  return { perMessage, records };
}

interface RecipientFacts {
  recipient: string;
  /** The status field of a DSN (or a status the format states), before reconciliation. */
  status?: string | null;
  diagnostic?: string | null;
  diagnosticType?: string | null;
  action?: string | null;
  command?: string | null;
  replyCode?: string | null;
  hint?: string | null;
  /** Text about this recipient elsewhere in the bounce (a DSN's human-readable part). */
  context?: string | null;
  feedbackType?: string | null;
  /** The MTA or provider format the bounce is in, when recognised. */
  format?: BounceFormat | null;
  /** The remote and reporting MTAs' names (a DSN's Remote-MTA and Reporting-MTA). */
  hosts?: string | null;
}

function cleanDiagnostic(value: string | null | undefined): { text: string; type: string | null } {
  if (!value) return { text: '', type: null };
  const v = value.slice(0, MAX_VALUE).replace(/\s+/g, ' ').trim();
  const m = /^([A-Za-z][A-Za-z0-9-]{0,30})\s*;\s*/.exec(v);
  if (m) return { text: v.slice(m[0].length).trim(), type: (m[1] ?? '').toLowerCase() };
  return { text: v, type: null };
}

/**
 * A multi-line SMTP reply flattened into one text ("550-5.7.1 a 550-5.7.1 b 550 5.7.1 c" -> "550 5.7.1 a b c"),
 * so phrases broken across its lines read whole.
 */
function joinMultiline(text: string): string {
  const m = /\b([245]\d\d)-(?:([245]\.\d{1,3}\.\d{1,3})\s)?/.exec(text);
  if (!m) return text;
  const reply = m[1]!;
  const code = m[2] ?? '';
  // Only a real multi-line answer: the code starts more than one line.
  if (text.split(`${reply}-`).length + text.split(`${reply} `).length - 2 < 2) return text;
  let t = text;
  for (const sep of ['-', ' ']) {
    if (code) t = t.split(`${reply}${sep}${code} `).join('');
    t = t.split(`${reply}${sep}`).join('');
  }
  t = t.replace(/\s+/g, ' ').trim();
  return `${reply} ${code ? code + ' ' : ''}${t}`;
}

/** Decides status, reply code, reason and hard/soft for one recipient. */
function finish(f: RecipientFacts): BouncedRecipient {
  const { text: diagText, type } = cleanDiagnostic(f.diagnostic);
  const context = (f.context ?? '').replace(/[ \t]+/g, ' ').trim();
  let diag = diagText;
  // A DSN record without a diagnostic: the human-readable part's words about the recipient.
  if (!diag && context) diag = context.replace(/\s+/g, ' ').slice(0, 2000);
  diag = joinMultiline(diag);
  const inText = findStatus(diag);
  let replyCode = f.replyCode ?? findReplyCode(diag, inText?.[0]) ?? findReplyCode(diag);
  const field = normStatus(f.status);
  let status = preferStatus(field, inText, replyCode);
  // A vague status (X.0.0, 4.4.7, or none): the text about the recipient may tell more.
  if ((!status || /\.0\.0$/.test(status) || status === '4.4.7') && context) {
    const fromContext = findStatus(context);
    if (
      fromContext &&
      !/\.0\.0$/.test(fromContext) &&
      fromContext !== '4.4.7' &&
      (!status || fromContext[0] === status[0])
    )
      status = fromContext;
  }
  if (replyCode && status && replyCode[0] !== status[0]) {
    const other = findReplyCode(diag, status[0]);
    replyCode = other ?? null;
  }
  const command =
    f.command ?? commandOfText(diag) ?? findCommand(diag) ?? commandOfText(context) ?? findCommand(context);
  const format = f.format ?? null;
  let hint = f.hint ?? null;
  if (!hint && format?.statusFromHint) {
    // Exim: a refusal of the greeting is the client being blocked; of MAIL FROM, not yet telling.
    if (command === 'HELO' || command === 'EHLO') hint = 'blocked';
    else if (command === 'MAIL') hint = 'onhold';
  }
  const provider = status?.startsWith('2.')
    ? null
    : providerHint({ hosts: f.hosts ?? '', recipient: f.recipient, status, command, text: diag });
  hint = provider ?? hint ?? hintOf(format, diag, status);
  // Google Groups: the group does not exist or does not let the sender post.
  if (!hint && /@googlegroups\.com$/i.test(f.recipient) && /groups\.google\.com|google groups/i.test(diag))
    hint = 'rejected';
  const reason =
    provider ??
    decideReason({
      status,
      diagnostic: diag,
      diagnosticType: type,
      action: f.action ?? null,
      command,
      replyCode,
      hint,
    });
  const hardBounce = isHardBounce(reason, `${status ?? ''} ${diag}`.trim());
  if (!status && hint && format?.statusFromHint) {
    const temporary = replyCode?.startsWith('4') || !!format.temporaryHints?.has(hint);
    status = pseudoStatus(hint, temporary);
  }
  if (!status) status = pseudoStatus(reason, isTemporary(`${replyCode ?? ''} ${diag}`));
  return {
    recipient: f.recipient,
    status,
    replyCode: replyCode ?? null,
    hardBounce: reason === 'delivered' ? false : hardBounce,
    reason,
    feedbackType: f.feedbackType ?? null,
    diagnostic: diagText || (diag ? diag.slice(0, 1000) : null),
    action: f.action ? f.action.trim().toLowerCase() : null,
    smtpCommand: command,
  };
}

function cleanRecipient(value: string): string {
  const v = value
    .slice(0, 1000)
    .trim()
    .replace(/^[A-Za-z0-9-]{1,20} ?;\s*/, '');
  return firstAddress(v) ?? v.replace(/^<|>$/g, '');
}

const BOUNCE_SENDER =
  /mailer-daemon|postmaster|post_master|mail delivery|mail administrator|maildelivery|mdaemon|bounce|nobody@|notify|daemon/i;
const BOUNCE_SUBJECT =
  /undeliver|undelivered|delivery (?:status|fail|report|notification|problem)|returned mail|return(?:ed)? to sender|failure notice|mail delivery|could not be delivered|not delivered|delivery has failed|nondeliverable|non-delivery|delivery error|mail system error|bounce|rejected|failed|failure|error|warning: could not|unzustellbar|nicht zustellbar|non remis|no entregado|message not delivered|系统退信|エラー|不達/i;
const BOUNCE_BODY =
  /could not be delivered|couldn'?t be delivered|undeliverable|delivery (?:to the following|has failed|failed)|permanent(?:ly)? (?:error|fatal|failure)|returned mail|unable to deliver|failed to deliver|was not delivered|not be delivered|message could not|delivery failure|user unknown|mailbox (?:is )?full|did not reach|I'm afraid I wasn't able|hi\. this is the qmail|the following addresses had|recipient address rejected|delivery problem|delivery status notification|failed recipient|following recipient|retry timeout exceeded|host .{1,100} said:/i;
const AUTO_SUBJECT =
  /^(?:re:\s*)?(?:auto(?:matic)?[ -]?(?:reply|response|antwort|respuesta)|out of (?:the )?office|abwesenheit|abwesend|vacation|away from|absence|r[ée]ponse automatique|risposta automatica|automatisch antwoord|i am (?:currently )?(?:out|away|on leave))|\b(?:out of (?:the )?office|auto(?:matic)? ?reply|autoreply|on vacation|abwesenheitsnotiz)\b/i;

function isAutoReply(root: MimePart): boolean {
  const autoSubmitted = header(root, 'auto-submitted');
  if (autoSubmitted && /auto-replied/i.test(autoSubmitted)) return true;
  if (header(root, 'x-autoreply') || header(root, 'x-autorespond') || header(root, 'x-autoresponder')) return true;
  if (/auto[_-]?reply/i.test(header(root, 'precedence') ?? '')) return true;
  if (
    /^(?:oof|autoreply|autoresponder)$/i.test(header(root, 'x-auto-response-suppress') ?? '') &&
    /oof/i.test(header(root, 'x-ms-exchange-inbox-rules-loop') ?? '')
  )
    return true;
  return AUTO_SUBJECT.test(header(root, 'subject') ?? '');
}

/** Addresses that a bounce text mentions which are not the failed recipients. */
function excludedAddresses(root: MimePart, returned: MimeHeader[] | null): Set<string> {
  const out = new Set<string>();
  const add = (v: string | null) => {
    if (!v) return;
    for (const m of v.slice(0, 4000).match(ADDRESS_RE) ?? []) out.add(m.toLowerCase());
  };
  for (const name of ['from', 'to', 'return-path', 'reply-to', 'sender', 'message-id', 'in-reply-to', 'references'])
    add(header(root, name));
  if (returned) {
    const r = { headers: returned };
    for (const name of ['from', 'sender', 'return-path', 'message-id', 'reply-to', 'errors-to']) add(header(r, name));
  }
  return out;
}

const SYSTEM_LOCAL = /^(?:mailer-daemon|postmaster|double-bounce|post_master)@/i;

/** Labels before a recipient's address on its line ("Recipient: <a@b>"). */
const RECIPIENT_LABEL =
  /^(?:rcpt to:|recipient:|original recipient:|address:|failed recipient:|recipient address:|invalid recipient:|destinataire\s*:|unable to deliver message to:?|undeliverable to|delivery failed \d{1,4} attempts:)/i;
/**
 * An address, then what may follow it on a recipient's line. After the address: nothing, ":", "...",
 * ",", "<mailto:" right away, or after whitespace also "(", "-", "[" or a capitalised word. (The old
 * form, \s*(?:...|\s\(|\s+[A-Z][a-z]), let two whitespace quantifiers share a run: quadratic.)
 */
const RECIPIENT_ADDRESS =
  /^<?([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253})>?(?::|\.\.\.|$|,|<mailto:|\s+(?::|\.\.\.|$|,|<mailto:|\(|-|\[|[A-Z][a-z]))/;

/** A line that names an address as the subject of a failure, and the address. */
function recipientOfLine(line: string): string | null {
  if (line.length > 1000) return null;
  // Indentation is stripped once here, so no pattern starts with a whitespace quantifier.
  const body = line.trimStart();
  const indent = line.length - body.length;
  let m =
    // Sendmail/V5 transcripts: "550 5.1.1 <a@b>... User unknown", "554 <a@b>... Remote protocol error"
    (indent <= 4
      ? /^[45]\d\d(?:[ -][45]\.\d{1,3}\.\d{1,3})?\s+<([^<>\s@]{1,300}@[^<>\s]{1,255})>\.\.\./.exec(body)
      : null) ??
    // "[Status: Error, Address: <a@b>, ResponseCode 421, ...]"
    /^\[?status: [a-z]{1,20}, address: <([^<>\s@]{1,300}@[^<>\s]{1,255})>/i.exec(body) ??
    /^["<]([^<>"\s@]{1,300}@[^<>"\s]{1,255})[">](?::|\.\.\.|\(|$|[,;]|\s+(?::|\.\.\.|\(|$|[,;]|-|\[))/.exec(body);
  if (m && m[1] && m[1].indexOf('@') < 3) m = null;
  if (!m) {
    const label = indent <= 12 ? RECIPIENT_LABEL.exec(body) : null;
    if (label) m = RECIPIENT_ADDRESS.exec(body.slice(label[0].length).trimStart());
    m ??= RECIPIENT_ADDRESS.exec(body);
  }
  if (!m || !m[1]) return null;
  return firstAddress(m[1]);
}

/** Lines that end one recipient's part of a text bounce. */
const SECTION_END =
  /^\s*(?:-{3,}|={3,}|\*{3,}|_{3,})|^\s*while talking to |^\.\.\. while talking to |^\s*(?:>>>|<<<) |transcript of session follows/i;

interface TextRecipient {
  address: string;
  context: string;
  command: string | null;
  /** The recipient's own lines (without the introduction shared by a list). */
  own?: string;
}

/**
 * Recipients a human-readable bounce names, each with the text about it: its line and the lines up
 * to the next recipient (or the end of its section), the server's answer that a Sendmail
 * transcript printed just before it, and the command that answer was for.
 */
function textRecipients(
  bounceText: string,
  root: MimePart,
  returned: MimeHeader[] | null,
  wanted?: Set<string>
): TextRecipient[] {
  const excluded = excludedAddresses(root, returned);
  const lines = linesOf(bounceText);

  // Candidate lines.
  interface Cand {
    i: number;
    address: string;
    command: string | null;
    response: string | null;
  }
  const cands: Cand[] = [];
  let pendingCommand: string | null = null;
  let pendingResponse: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*>>> /.test(line)) {
      pendingCommand = findCommand(line) ?? pendingCommand;
      continue;
    }
    if (/^\s*<<< /.test(line)) {
      const answer = line.replace(/^\s*<<< /, '').trim();
      if (!pendingResponse) pendingResponse = answer;
      else if (pendingResponse.length < 2000 && /^\d{3}-/.test(pendingResponse.slice(-400).split('\n').pop() ?? ''))
        pendingResponse += '\n' + answer; // a multi-line reply ("550-5.7.1 ..." lines)
      continue;
    }
    if (/^\s*while talking to /i.test(line) || /^\.\.\. while talking to /i.test(line)) {
      pendingCommand = null;
      pendingResponse = null;
      continue;
    }
    const address = recipientOfLine(line);
    if (!address) continue;
    const transcriptLine = /^\s{0,4}[45]\d\d[ -]/.test(line);
    cands.push({
      i,
      address,
      command: transcriptLine ? pendingCommand : null,
      response: transcriptLine ? pendingResponse : null,
    });
    if (transcriptLine) {
      pendingCommand = null;
      pendingResponse = null;
    }
  }

  const isSystem = (a: string) => SYSTEM_LOCAL.test(a);
  let usable = cands.filter(
    (c) => wanted?.has(c.address.toLowerCase()) || (!isSystem(c.address) && !excluded.has(c.address.toLowerCase()))
  );
  // A bounce sent to the failed address itself (a message to oneself): the structured lines still count.
  if (!usable.length) usable = cands.filter((c) => !isSystem(c.address) && /[<>":]|\.\.\./.test(lines[c.i] ?? ''));

  const candLines = new Set(cands.map((c) => c.i));
  const sectionOf = (c: Cand): string => {
    const first = lines[c.i] ?? '';
    const out = [first];
    // A line that says more than the address ends its section at the next blank line.
    const at = first.toLowerCase().lastIndexOf(c.address.toLowerCase());
    const saysMore = /[A-Za-z]{3}/.test(at >= 0 ? first.slice(at + c.address.length) : first);
    let content = saysMore;
    for (let j = c.i + 1; j < lines.length && j < c.i + 25; j++) {
      const l = lines[j] ?? '';
      if (candLines.has(j)) break;
      // A transcript line about this very address belongs to it ("Recipient: <a>" then ">>> RCPT TO:<a>").
      if (SECTION_END.test(l) && !(/^\s*(?:>>>|<<<) /.test(l) && l.toLowerCase().includes(c.address.toLowerCase())))
        break;
      if (/^\s{0,4}[45]\d\d[ -]/.test(l) && /\.\.\. /.test(l)) break;
      if (!l.trim()) {
        if (content && saysMore) break;
        continue;
      }
      content = true;
      out.push(l);
    }
    return out.join('\n');
  };

  /** The paragraph that introduces a list of recipients ("Delivery to the following recipient has been delayed:"). */
  const leadIn = (c: Cand): string => {
    const out: string[] = [];
    let j = c.i - 1;
    while (j >= 0 && !(lines[j] ?? '').trim()) j--;
    for (; j >= 0 && out.length < 4; j--) {
      const l = lines[j] ?? '';
      if (!l.trim() || candLines.has(j)) break;
      out.unshift(l);
    }
    return out.join('\n');
  };

  const intro = usable.length ? leadIn(usable[0]!) : '';
  const byAddress = new Map<string, TextRecipient>();
  for (const c of usable) {
    const key = c.address.toLowerCase();
    const section = sectionOf(c) + (c.response ? '\n' + c.response : '') + (intro ? '\n' + intro : '');
    const own = sectionOf(c);
    const existing = byAddress.get(key);
    if (existing) {
      // An address named on many lines: its text grows only so far.
      if (existing.context.length < MAX_SCAN / 4) existing.context += '\n' + section;
      if ((existing.own?.length ?? 0) < MAX_SCAN / 4) existing.own = `${existing.own ?? ''}\n${own}`;
      existing.command = c.command ?? existing.command;
    } else if (byAddress.size < MAX_RECIPIENTS) {
      byAddress.set(key, { address: c.address, context: section, command: c.command, own });
    }
  }
  const found = [...byAddress.values()];
  if (found.length) return found;

  // Any other address in the text, with the lines around it.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    for (const a of line.slice(0, 1000).match(ADDRESS_RE) ?? []) {
      const addr = a.replace(/^[.'`]+|[.'`]+$/g, '');
      if (excluded.has(addr.toLowerCase()) || isSystem(addr)) continue;
      return [{ address: addr, context: lines.slice(Math.max(0, i - 1), i + 12).join('\n'), command: null }];
    }
  }
  if (returned) {
    const to = firstAddress(header({ headers: returned }, 'to'));
    if (to) return [{ address: to, context: '', command: null }];
  }
  return [];
}

/** Postfix's "errors from" notice to the postmaster: an SMTP server transcript ("In:" / "Out:" lines). */
function smtpdTranscript(text: string): RecipientFacts[] {
  // [ \t]*, not \s*: with the m flag \s* crosses line ends, and from every line start of a run of
  // empty lines it would rescan the whole run (quadratic).
  if (!/^[ \t]*In:\s{1,20}RCPT TO:/im.test(text) || !/^[ \t]*Out:\s{1,20}\d{3}/im.test(text)) return [];
  const lines = linesOf(text);
  const rcpts: string[] = [];
  let command: string | null = null;
  let error: string | null = null;
  let errorCommand: string | null = null;
  /** What follows "In:" or "Out:" (and whitespace) at the start of a line, or null. */
  const after = (line: string, label: string): string | null => {
    const t = line.trimStart();
    if (!t.startsWith(label) || !/^\s/.test(t.slice(label.length, label.length + 1))) return null;
    return t.slice(label.length).trim();
  };
  for (const line of lines) {
    const cmd = after(line, 'In:');
    if (cmd !== null) {
      command = findCommand(cmd) ?? command;
      if (/^RCPT TO:/i.test(cmd)) {
        const a = firstAddress(cmd);
        if (a && !rcpts.includes(a)) rcpts.push(a);
      }
      continue;
    }
    const out = after(line, 'Out:');
    if (out !== null && !error && /^[45]\d\d\b/.test(out)) {
      error = out;
      errorCommand = command;
    }
  }
  if (!error || !rcpts.length) return [];
  return rcpts.slice(0, MAX_RECIPIENTS).map((recipient) => ({ recipient, diagnostic: error, command: errorCommand }));
}

/** fml (a mailing list manager) telling a poster the list refused the post. */
function mailingListError(root: MimePart, text: string): RecipientFacts[] {
  if (!header(root, 'x-mlserver') || !/-admin@/i.test(header(root, 'from') ?? '')) return [];
  const subject = header(root, 'subject') ?? '';
  const lines = linesOf(text, 200);
  const out: RecipientFacts[] = [];
  for (const line of lines) {
    // No "@" in the local part: the split of "a@b@c" is then unique (no backtracking over it).
    const m = /<([^<>\s@]{1,300}@[^<>\s]{1,255})>/.exec(line);
    if (!m) continue;
    const all = lines.join(' ').slice(0, MAX_SCAN);
    const hint =
      /not a member|are not member|not member article|reject mail|spam mail from a spammer|reject spammers|may cause mail loop/i.test(
        all + ' ' + subject
      )
        ? 'rejected'
        : /loop (?:alert|back warning)|duplicated message-id|detected a loop|system error message|unix from loop/i.test(
              all + ' ' + subject
            )
          ? 'systemerror'
          : /security alert/i.test(all + ' ' + subject)
            ? 'securityerror'
            : null;
    out.push({ recipient: firstAddress(m[1]) ?? m[1] ?? '', diagnostic: line.trim(), hint });
    break;
  }
  return out;
}

/* ------------------------------------------------------------------------------------------------
 * Amazon SES notifications mailed through SNS (an email subscription): JSON in the body
 * ---------------------------------------------------------------------------------------------- */

interface SesNotification {
  notificationType?: string;
  eventType?: string;
  bounce?: {
    bounceType?: string;
    bounceSubType?: string;
    bouncedRecipients?: Array<{ emailAddress?: string; action?: string; status?: string; diagnosticCode?: string }>;
  };
  complaint?: {
    complainedRecipients?: Array<{ emailAddress?: string }>;
    complaintFeedbackType?: string;
  };
  delivery?: { recipients?: string[]; smtpResponse?: string };
  mail?: { messageId?: string; headers?: Array<{ name?: string; value?: string }> };
}

function sesNotification(bodyText: string): SesNotification | null {
  const start = bodyText.indexOf('{');
  if (start < 0 || !/"(?:notificationType|eventType|Type)"\s*:/.test(bodyText.slice(0, MAX_SCAN))) return null;
  // Sendmail splits lines longer than its limit with "!" + newline + space; undo that first.
  const json = bodyText
    .slice(start, start + MAX_SCAN)
    .replace(/!\r?\n /g, '')
    .replace(/\r?\n/g, '\n');
  const end = json.lastIndexOf('}');
  if (end < 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(json.slice(0, end + 1));
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.Message === 'string' && v.Message.length <= MAX_SCAN) {
    try {
      const inner = JSON.parse(v.Message) as unknown;
      if (inner && typeof inner === 'object') return inner as SesNotification;
    } catch {
      return null;
    }
  }
  if (typeof v.notificationType === 'string' || typeof v.eventType === 'string') return v as SesNotification;
  return null;
}

function fromSes(
  n: SesNotification
): { kind: BounceKind; facts: RecipientFacts[]; headers: Record<string, string> } | null {
  const type = (n.notificationType ?? n.eventType ?? '').toLowerCase();
  const headers: Record<string, string> = {};
  for (const h of Array.isArray(n.mail?.headers) ? n.mail!.headers!.slice(0, 200) : []) {
    if (typeof h?.name === 'string' && typeof h.value === 'string' && !(h.name.toLowerCase() in headers))
      headers[h.name.toLowerCase()] = h.value;
  }
  if (type === 'bounce') {
    const b = n.bounce ?? {};
    const list = Array.isArray(b.bouncedRecipients) ? b.bouncedRecipients.slice(0, MAX_RECIPIENTS) : [];
    const transient = /^transient$/i.test(b.bounceType ?? '');
    const facts = list
      .filter((r) => typeof r?.emailAddress === 'string')
      .map<RecipientFacts>((r) => ({
        recipient: firstAddress(r.emailAddress) ?? String(r.emailAddress),
        status: typeof r.status === 'string' ? r.status : null,
        diagnostic: typeof r.diagnosticCode === 'string' ? r.diagnosticCode : null,
        action: typeof r.action === 'string' ? r.action : transient ? 'delayed' : 'failed',
        hint:
          typeof r.diagnosticCode === 'string' || typeof r.status === 'string'
            ? null
            : /mailboxfull/i.test(b.bounceSubType ?? '')
              ? 'mailboxfull'
              : /messagetoolarge/i.test(b.bounceSubType ?? '')
                ? 'mesgtoobig'
                : /contentrejected/i.test(b.bounceSubType ?? '')
                  ? 'contenterror'
                  : /noemail/i.test(b.bounceSubType ?? '')
                    ? 'userunknown'
                    : null,
      }));
    return { kind: 'bounce', facts, headers };
  }
  if (type === 'complaint') {
    const c = n.complaint ?? {};
    const list = Array.isArray(c.complainedRecipients) ? c.complainedRecipients.slice(0, MAX_RECIPIENTS) : [];
    const feedbackType = (typeof c.complaintFeedbackType === 'string' && c.complaintFeedbackType) || 'abuse';
    const facts = list
      .filter((r) => typeof r?.emailAddress === 'string')
      .map<RecipientFacts>((r) => ({
        recipient: firstAddress(r.emailAddress) ?? String(r.emailAddress),
        feedbackType,
      }));
    return { kind: 'complaint', facts, headers };
  }
  if (type === 'delivery') {
    const d = n.delivery ?? {};
    const list = Array.isArray(d.recipients) ? d.recipients.slice(0, MAX_RECIPIENTS) : [];
    const facts = list
      .filter((r): r is string => typeof r === 'string')
      .map<RecipientFacts>((r) => ({
        recipient: firstAddress(r) ?? r,
        diagnostic: typeof d.smtpResponse === 'string' ? d.smtpResponse : null,
        action: 'delivered',
      }));
    return { kind: 'other', facts, headers };
  }
  return null;
}

function complaintRecipient(recipient: string, feedbackType: string): BouncedRecipient {
  return {
    recipient,
    status: null,
    replyCode: null,
    hardBounce: false,
    reason: 'feedback',
    feedbackType,
    diagnostic: null,
  };
}

function toText(raw: string | Buffer, maxBytes: number): string | null {
  if (Buffer.isBuffer(raw)) return raw.subarray(0, maxBytes).toString('latin1');
  if (typeof raw === 'string')
    return Buffer.from(raw.slice(0, maxBytes), 'utf8').subarray(0, maxBytes).toString('latin1');
  return null;
}

function parseRaw(raw: string | Buffer, options: ParseBounceOptions): ParsedBounce {
  const maxBytes = Math.max(1024, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const text = toText(raw, maxBytes);
  if (text === null || !text.trim()) return EMPTY();
  // Drop an mbox "From " line.
  const root = parseMime(text.replace(/^From [^\n]{0,500}\n/, ''));
  if (!root.headers.length) return EMPTY();
  return parseMessage(root, 0);
}

function parseMessage(root: MimePart, depth: number): ParsedBounce {
  const c = collect(root);
  const rootType = root.contentType;
  const reportType = (root.params['report-type'] ?? '').toLowerCase();

  // Non-MIME bounces quote the returned message inline.
  const allTexts = c.texts.filter((t) => t.trim());
  // SES's JSON may sit on one long line: it is parsed (linear), not matched line by line.
  const sesText = allTexts.join('\n').slice(0, MAX_SCAN);
  // Every other reading of the texts sees them capped: MAX_SCAN characters, lines of MAX_LINE.
  let texts = allTexts.map((t) => capLines(t.slice(0, MAX_SCAN)));
  const fullText = texts.join('\n').slice(0, MAX_SCAN);
  let returned = c.returned;
  {
    const joined = texts.join('\n');
    const marker = returnedMarker(joined.slice(0, MAX_SCAN));
    let cut = -1;
    let after = '';
    if (marker) {
      cut = marker.start;
      // From the line after the marker, blank lines skipped.
      after = joined.slice(marker.next, marker.next + MAX_SCAN);
      const firstText = after.search(/\S/);
      if (firstText > 0) after = after.slice(after.lastIndexOf('\n', firstText) + 1);
    } else {
      const lines = joined.slice(0, MAX_SCAN).split('\n');
      const start = quotedHeaderStart(lines);
      if (start > 0) {
        cut = lines.slice(0, start).join('\n').length;
        after = lines.slice(start).join('\n');
      }
    }
    if (cut >= 0) {
      if (!returned) {
        const hdrs = parseHeaderBlock(splitHeaderBody(after.replace(/^[ \t]+/gm, '')).head);
        if (hdrs.some((h) => h.name === 'from' || h.name === 'subject' || h.name === 'message-id' || h.name === 'to'))
          returned = hdrs;
      }
      texts = [joined.slice(0, cut)];
    }
  }
  const originalHeaders = returned ? headersRecord(returned) : {};
  const originalMessageId = originalHeaders['message-id']?.replace(/^\s*<|>\s*$/g, '') ?? null;
  const verpAddress = firstAddress(header(root, 'to'));
  const base = { originalMessageId, originalHeaders, verpAddress };
  const bounceText = texts.join('\n').slice(0, MAX_SCAN);
  const format = detectFormat((name) => header(root, name), fullText);

  // Amazon SES notifications (through an SNS email subscription).
  const ses = /amazonaws\.com|amazonses\.com/i.test(
    `${header(root, 'from') ?? ''} ${header(root, 'x-amz-sns-message-id') ?? ''}`
  )
    ? sesNotification(sesText)
    : null;
  const sesResult = ses ? fromSes(ses) : null;
  if (sesResult && sesResult.facts.length) {
    const b = { ...base, originalHeaders: { ...sesResult.headers, ...originalHeaders } };
    if (!b.originalMessageId && sesResult.headers['message-id'])
      b.originalMessageId = sesResult.headers['message-id'].replace(/^\s*<|>\s*$/g, '');
    if (sesResult.kind === 'complaint') {
      return {
        kind: 'complaint',
        recipients: sesResult.facts.map((f) => complaintRecipient(f.recipient, f.feedbackType ?? 'abuse')),
        ...b,
      };
    }
    const recipients = sesResult.facts.map((f) => finish(f));
    return { kind: recipients.every((r) => r.reason === 'delivered') ? 'other' : 'bounce', recipients, ...b };
  }

  // ARF feedback reports.
  const feedbackBodies = c.feedback.length
    ? c.feedback
    : /^feedback-type:/im.test(bounceText) || reportType === 'feedback-report'
      ? [bounceText]
      : [];
  if (feedbackBodies.length) {
    const recipients: BouncedRecipient[] = [];
    for (const body of feedbackBodies) {
      const fields = parseHeaderBlock(capLines(body.slice(0, MAX_SCAN)).replace(/\r?\n[ \t]*\r?\n/g, '\n'));
      const fb = { headers: fields };
      const type = (header(fb, 'feedback-type') ?? 'abuse').trim().toLowerCase().split(/[\s;]/)[0] || 'abuse';
      const rcpts = [...headerAll(fb, 'original-rcpt-to'), ...headerAll(fb, 'removal-recipient')]
        .map((v) => firstAddress(v))
        .filter((v): v is string => !!v);
      if (!rcpts.length) {
        const to = firstAddress(returned ? header({ headers: returned }, 'to') : null);
        rcpts.push(to ?? '');
      }
      for (const r of rcpts.slice(0, MAX_RECIPIENTS)) recipients.push(complaintRecipient(r, type));
    }
    return { kind: 'complaint', recipients, ...base };
  }

  // Apple Mail's unsubscribe (sent to a List-Unsubscribe mailto: address): the sender opts out.
  if (/^\s*true\s*$/i.test(header(root, 'x-apple-unsubscribe') ?? '')) {
    const who = firstAddress(header(root, 'from')) ?? '';
    return { kind: 'complaint', recipients: [complaintRecipient(who, 'opt-out')], ...base };
  }

  // Microsoft's Junk Mail Reporting Program: the reported message attached, its recipient in a header.
  const jmrp = c.attached
    .map((m) => header(m, 'x-hmxmroriginalrecipient'))
    .find((v): v is string => !!v && !!firstAddress(v));
  if (jmrp || (/complaint about message from /i.test(header(root, 'subject') ?? '') && c.attached.length)) {
    const to = firstAddress(jmrp) ?? firstAddress(header(c.attached[0]!, 'to')) ?? '';
    return { kind: 'complaint', recipients: [complaintRecipient(to, 'abuse')], ...base };
  }

  // RFC 3464 delivery status notifications.
  const dsnBodies = c.dsn.length ? c.dsn : [];
  for (const t of [bounceText, fullText]) {
    if (dsnBodies.length) break;
    if (/^(?:final|original)-recipient:/im.test(t) && /^(?:status|action):/im.test(t))
      dsnBodies.push(t.slice(t.search(/^(?:reporting-mta|final-recipient|original-recipient|arrival-date):/im)));
  }
  const dsnFacts: RecipientFacts[] = [];
  const dsnAddresses = new Set<string>();
  for (const body of dsnBodies)
    for (const m of body.slice(0, MAX_SCAN).match(/^(?:final|original)-recipient:[^\n]{0,400}/gim) ?? []) {
      const a = firstAddress(m);
      if (a) dsnAddresses.add(a.toLowerCase());
    }
  let textByAddress: Map<string, TextRecipient> | null = null;
  const textAbout = (address: string): TextRecipient | undefined => {
    if (!textByAddress) {
      textByAddress = new Map();
      const humanText = dsnTextPart(bounceText);
      for (const t of textRecipients(humanText, root, returned, dsnAddresses))
        textByAddress.set(t.address.toLowerCase(), t);
    }
    return textByAddress.get(address.toLowerCase());
  };
  for (const body of dsnBodies) {
    const { perMessage, records } = parseDsnBody(body);
    for (const r of records) {
      if (dsnFacts.length >= MAX_RECIPIENTS) break;
      const f = r.fields;
      const addr = cleanRecipient(f['final-recipient'] ?? f['original-recipient'] ?? f['x-actual-recipient'] ?? '');
      if (!addr) continue;
      const about =
        textAbout(addr) ??
        (f['x-actual-recipient'] ? textAbout(cleanRecipient(f['x-actual-recipient'])) : undefined) ??
        (f['original-recipient'] ? textAbout(cleanRecipient(f['original-recipient'])) : undefined);
      const category = (f['x-powermta-bouncecategory'] ?? '').trim().toLowerCase();
      // The notice's own words about the recipient, when they hold the diagnostic and say more
      // (Postfix's "(in reply to RCPT TO command)", Sendmail's whole multi-line answer).
      let diagnostic = f['diagnostic-code'] ?? perMessage['diagnostic-code'] ?? null;
      const ownText = about?.own ? joinMultiline(about.own).replace(/\s+/g, ' ').trim() : '';
      const { text: bareText, type: bareType } = cleanDiagnostic(diagnostic);
      const bare = joinMultiline(bareText).replace(/\s+/g, ' ').trim();
      const at = bare.length > 8 ? ownText.toLowerCase().indexOf(bare.toLowerCase()) : -1;
      const tail = at >= 0 ? /^\s*(\(in reply to [^)]{1,80}\))/i.exec(ownText.slice(at + bare.length)) : null;
      if (tail) diagnostic = `${bareType ?? 'smtp'}; ${bare} ${tail[1]}`;
      // The first line of a multi-line answer: the rest is in the transcript.
      const whole = /^\d{3}-/.test(bare) ? completeReply(bare, bounceText) : null;
      if (whole) diagnostic = `${bareType ?? 'smtp'}; ${whole}`;
      dsnFacts.push({
        recipient: addr,
        hint: POWERMTA_CATEGORIES[category] ?? null,
        status: f.status ?? null,
        diagnostic,
        action: f.action ?? null,
        command:
          commandOfText(`${f['diagnostic-code'] ?? ''} ${f.status ?? ''}`) ??
          findCommand(f['diagnostic-code']) ??
          about?.command ??
          null,
        context: about?.context ?? null,
        format,
        hosts: `${f['remote-mta'] ?? perMessage['remote-mta'] ?? ''} ${perMessage['reporting-mta'] ?? ''}`,
      });
    }
  }
  if (dsnFacts.length) {
    const recipients = dsnFacts.map((f) => finish(f));
    return { kind: recipients.every((r) => r.reason === 'delivered') ? 'other' : 'bounce', recipients, ...base };
  }

  const from = header(root, 'from') ?? '';
  const subject = header(root, 'subject') ?? '';
  const bodySaysBounce = BOUNCE_BODY.test(bounceText.slice(0, 8000));
  // A notice from a mail system (its sender, its headers, its report type, or both its subject and
  // its text say so). A person's message whose subject or text merely mentions a failure is not one.
  const notice =
    BOUNCE_SENDER.test(from) ||
    !header(root, 'from') ||
    /^<?\s*>?$/.test(from.trim()) ||
    !!header(root, 'x-failed-recipients') ||
    rootType === 'multipart/report' ||
    (BOUNCE_SUBJECT.test(subject) && bodySaysBounce);
  // Notifications travel with a null reverse-path (RFC 5321 4.5.5; auto-replies too, RFC 3834).
  const nullSender = /^\s*<\s*>\s*$/.test(header(root, 'return-path') ?? 'x');
  const bounceLike = notice || nullSender;

  // Formats with their own layout.
  const special = smtpdTranscript(bounceText);
  if (!special.length) special.push(...mailingListError(root, bounceText));
  if (special.length) return { kind: 'bounce', recipients: special.map((f) => finish({ ...f, format })), ...base };

  if (isAutoReply(root) && !notice) {
    const who = firstAddress(header(root, 'from')) ?? '';
    return {
      kind: 'auto-reply',
      recipients: [
        {
          recipient: who,
          status: null,
          replyCode: null,
          hardBounce: false,
          reason: 'vacation',
          feedbackType: null,
          diagnostic: null,
        },
      ],
      ...base,
    };
  }

  // A bounce forwarded inside another message (attached whole): read the attached one.
  const forwarded = (): ParsedBounce | null => {
    if (depth >= MAX_FORWARD_DEPTH) return null;
    for (const inner of c.attached.slice(0, 3)) {
      const innerType = inner.contentType;
      const innerFrom = header(inner, 'from') ?? '';
      const innerSubject = header(inner, 'subject') ?? '';
      if (innerType === 'multipart/report' || (BOUNCE_SENDER.test(innerFrom) && BOUNCE_SUBJECT.test(innerSubject))) {
        const parsed = parseMessage(inner, depth + 1);
        if (parsed.recipients.length && parsed.kind !== 'other') return parsed;
      }
    }
    return null;
  };

  if (!bounceLike) return forwarded() ?? { kind: 'other', recipients: [], ...base };

  const failed = header(root, 'x-failed-recipients');
  let found = textRecipients(bounceText, root, returned);
  if (failed) {
    const listed = (failed.slice(0, MAX_VALUE).match(ADDRESS_RE) ?? []).slice(0, MAX_RECIPIENTS);
    if (listed.length) {
      const known = new Map(found.map((f) => [f.address.toLowerCase(), f]));
      found = listed.map(
        (a) => known.get(a.toLowerCase()) ?? { address: a, context: contextAround(bounceText, a), command: null }
      );
    }
  }
  if (!found.length || (c.attached.length && found.every((f) => !f.context.trim()))) {
    const inner = forwarded();
    if (inner) return inner;
  }
  if (!found.length) return { kind: 'other', recipients: [], ...base };

  const single = found.length === 1;
  const recipients = found.map((r) => {
    // One recipient whose own lines say little: the whole notice is about it (some formats put the
    // reason before the address, or far below it).
    const says = (r.own ?? r.context)
      .replace(ADDRESS_RE, '')
      .replace(/[^A-Za-z]+/g, ' ')
      .trim()
      .split(' ').length;
    const context =
      single && (!r.context.trim() || says < 4) ? `${r.context}\n${withoutLine(bounceText, r.context)}` : r.context;
    return finish({
      recipient: r.address,
      context,
      command:
        r.command ?? commandOfText(r.context) ?? findCommand(r.context) ?? (single ? findCommand(context) : null),
      format,
    });
  });
  return { kind: 'bounce', recipients, ...base };
}

/** A multi-line SMTP answer whose first line is `first`, read whole from a transcript ("<<< 550-..." lines). */
function completeReply(first: string, text: string): string | null {
  const lines = linesOf(text);
  const flat = (l: string) =>
    l
      .replace(/^\s*<<<\s*/, '')
      .replace(/\s+/g, ' ')
      .toLowerCase();
  const head = flat(first).slice(0, 60);
  const start = lines.findIndex((l) => flat(l).startsWith(head));
  if (start < 0) return null;
  const code = first.slice(0, 3);
  const out: string[] = [];
  for (let i = start; i < lines.length && out.length < 20; i++) {
    const l = (lines[i] ?? '').replace(/^\s*<<<\s*/, '').trim();
    if (!l.startsWith(code)) break;
    out.push(l);
    if (l[3] === ' ') break;
  }
  return out.length > 1 ? joinMultiline(out.join(' ')) : null;
}

/** The human-readable part of a multipart/report (text before the DSN fields when they are inline). */
function dsnTextPart(text: string): string {
  const at = text.search(/^(?:reporting-mta|final-recipient|original-recipient|arrival-date):/im);
  return at > 0 ? text.slice(0, at) : text;
}

function contextAround(text: string, address: string): string {
  const lines = linesOf(text);
  const idx = lines.findIndex((l) => l.toLowerCase().includes(address.toLowerCase()));
  return idx >= 0 ? lines.slice(idx, idx + 8).join('\n') : '';
}

/** The text with the recipient's own section removed (to append the rest of a notice after it). */
function withoutLine(text: string, section: string): string {
  const t = text.slice(0, 8000);
  if (!section) return t;
  const at = t.indexOf(section);
  return at >= 0 ? t.slice(0, at) + t.slice(at + section.length) : t;
}
