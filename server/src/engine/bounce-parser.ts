/**
 * Reads an asynchronous bounce (a whole RFC 822 message) and tells what it reports:
 *
 *   bounce      a delivery status notification: RFC 3464 (message/delivery-status) or the human
 *               text of MTAs that send none (qmail, Exim, old Sendmail, Exchange, Yahoo...)
 *   complaint   an ARF feedback report (RFC 5965, message/feedback-report)
 *   auto-reply  a vacation / out-of-office answer (RFC 3834 and the common non-standard marks)
 *   other       anything else
 *
 * For each recipient reported on: the address, the enhanced status code (RFC 3463), the SMTP reply
 * code, a reason name (Sisimai's vocabulary), hard or soft, and the ARF feedback type.
 *
 * Plain TypeScript, no I/O and no Strapi. It never throws: garbage gives kind 'other'. Work is
 * bounded: the input is capped (maxBytes), MIME nesting and part counts are capped, texts scanned by
 * patterns are capped, and the patterns have no nested quantifiers.
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
import { HARD_REASONS, decideReason, pseudoStatus } from './bounce/reasons';

export type BounceKind = 'bounce' | 'complaint' | 'auto-reply' | 'other';

export interface BouncedRecipient {
  recipient: string;
  status: string | null;
  replyCode: string | null;
  hardBounce: boolean;
  reason: string;
  feedbackType: string | null;
  diagnostic: string | null;
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
/** Longest text the heuristics scan. */
const MAX_SCAN = 64 * 1024;
const MAX_RECIPIENTS = 100;

const EMPTY: () => ParsedBounce = () => ({
  kind: 'other',
  recipients: [],
  originalMessageId: null,
  originalHeaders: {},
  verpAddress: null,
});

export function parseBounce(raw: string | Buffer, options: ParseBounceOptions = {}): Promise<ParsedBounce> {
  try {
    return Promise.resolve(parseBounceSync(raw, options));
  } catch {
    return Promise.resolve(EMPTY());
  }
}

const ADDRESS_RE = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,8}[A-Za-z]{2,24}/g;
const ADDRESS_ONE = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,8}[A-Za-z]{2,24}/;
const STATUS_RE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const REPLY_RE = /(?:^|[^\d.:/-])([245][0-5]\d)(?:[ -]|$)/;

function firstAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = ADDRESS_ONE.exec(value);
  return m ? m[0].replace(/^[.'`]+|[.'`]+$/g, '') : null;
}

function normStatus(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = STATUS_RE.exec(value);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

function findStatus(text: string): string | null {
  const t = text.slice(0, 8000);
  const withReply = /\b[245]\d\d[ -]#?([245]\.\d{1,3}\.\d{1,3})\b/.exec(t);
  if (withReply) return normStatus(withReply[1]);
  const hash = /\(#([45]\.\d{1,3}\.\d{1,3})\)/.exec(t);
  if (hash) return normStatus(hash[1]);
  const any = /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(t);
  return any ? normStatus(any[1]) : null;
}

function findReplyCode(text: string): string | null {
  const t = text.slice(0, 8000);
  const m = REPLY_RE.exec(t);
  return m ? (m[1] ?? null) : null;
}

function isTemporary(replyCode: string | null, text: string, action: string | null): boolean {
  if (replyCode?.startsWith('4')) return true;
  if (replyCode?.startsWith('5')) return false;
  if (action && /delayed/i.test(action)) return true;
  return /temporar|will (?:be )?retr|try again later|delayed|retry timeout exceeded|have been failing for a long time/i.test(
    text.slice(0, 4000)
  );
}

function htmlToText(html: string): string {
  return html
    .slice(0, MAX_SCAN)
    .replace(/<(?:br|p|div|tr|li)\b[^>]{0,500}>/gi, '\n')
    .replace(/<[^>]{0,2000}>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function headersRecord(headers: MimeHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers) if (!(h.name in out)) out[h.name] = h.value;
  return out;
}

/** Markers after which a non-MIME bounce quotes the returned message. */
const RETURNED_MARKERS =
  /^[ \t]*(?:-{2,}|={2,}|\*{2,})?[ \t]*(?:this is a copy of the message|below this line is a copy|original message follows|original message headers|the original message was received(?! at)|returned message follows|unsent message below|message headers follow|headers of the original message|\|{3,}|original message|rfc822 message|the headers of your message|content-type: message\/rfc822|undelivered message|the original message headers)/im;

interface Collected {
  dsn: string[];
  feedback: string[];
  texts: string[];
  returned: MimeHeader[] | null;
}

function collect(root: MimePart): Collected {
  const out: Collected = { dsn: [], feedback: [], texts: [], returned: null };
  const insideReturned = new Set<MimePart>();
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
      if (inner && !out.returned) out.returned = inner.headers;
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
    else if (t === 'text/html') out.texts.push(htmlToText(p.body));
  });
  // Prefer plain text: drop html renderings when plain text exists.
  return out;
}

interface DsnRecord {
  fields: Record<string, string>;
}

function parseDsnBody(body: string): { perMessage: Record<string, string>; records: DsnRecord[] } {
  const headers = parseHeaderBlock(body.replace(/\r?\n[ \t]*\r?\n/g, '\n').slice(0, MAX_SCAN));
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

function makeRecipient(
  recipient: string,
  statusIn: string | null,
  diagnostic: string | null,
  context: string,
  action: string | null
): BouncedRecipient {
  const diag = diagnostic
    ? diagnostic
        .replace(/^\s*(?:smtp|x-[a-z0-9-]+|unix|x-unix|x-postfix)\s*;\s*/i, '')
        .replace(/\s+/g, ' ')
        .trim()
    : null;
  const text = diag || context;
  let status = normStatus(statusIn);
  if (status && /^[45]\.0\.0$/.test(status) && diag) {
    const specific = findStatus(diag);
    if (specific && specific[0] === status[0] && !specific.endsWith('.0.0')) status = specific;
  }
  const replyCode = findReplyCode(diag ?? '') ?? (diag ? null : findReplyCode(context));
  if (!status) status = findStatus(text);
  // Google Groups: the group does not exist or does not let the sender post.
  const groupRefused =
    !status && /@googlegroups\.com$/i.test(recipient) && /groups\.google\.com|google groups/i.test(context);
  const reason = groupRefused
    ? 'rejected'
    : decideReason(status, text, action, failedAtData(context, recipient, diag));
  if (!status) status = pseudoStatus(reason, isTemporary(replyCode, text, action));
  return {
    recipient,
    status,
    replyCode,
    hardBounce: HARD_REASONS.has(reason),
    reason,
    feedbackType: null,
    diagnostic: diag,
  };
}

/** Whether the bounce says the recipient's failure was the answer to DATA (not to RCPT TO). */
function failedAtData(text: string, recipient: string, diag: string | null): boolean {
  const t = text.slice(0, MAX_SCAN);
  const lower = t.toLowerCase();
  const at = recipient ? lower.indexOf(recipient.toLowerCase()) : -1;
  if (at >= 0 && /in reply to (?:end of )?data\b|after (?:end of )?data\b/i.test(t.slice(at, at + 600))) return true;
  if (diag && /in reply to (?:end of )?data\b|after (?:end of )?data\b/i.test(diag)) return true;
  const transcript = /^>>> DATA[ \t]*\r?\n<<< ?([^\n]{0,500})/gim;
  let m: RegExpExecArray | null;
  while ((m = transcript.exec(t))) {
    const answer = (m[1] ?? '').toLowerCase();
    const local = recipient.toLowerCase().split('@')[0] ?? '';
    if (!/@/.test(answer) || (local && answer.includes(`${local}@`))) return true;
  }
  return false;
}

function cleanRecipient(value: string): string {
  const v = value.replace(/^\s*[A-Za-z0-9-]{1,20}\s*;\s*/, '').trim();
  return firstAddress(v) ?? v.replace(/^<|>$/g, '');
}

const BOUNCE_SENDER =
  /mailer-daemon|postmaster|mail delivery|mail administrator|maildelivery|mdaemon|bounce|nobody@|notify|daemon/i;
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
    for (const m of v.match(ADDRESS_RE) ?? []) out.add(m.toLowerCase());
  };
  add(header(root, 'from'));
  add(header(root, 'to'));
  add(header(root, 'return-path'));
  add(header(root, 'reply-to'));
  add(header(root, 'sender'));
  add(header(root, 'message-id'));
  add(header(root, 'in-reply-to'));
  add(header(root, 'references'));
  if (returned) {
    add(header({ headers: returned }, 'from'));
    add(header({ headers: returned }, 'sender'));
    add(header({ headers: returned }, 'return-path'));
    add(header({ headers: returned }, 'message-id'));
  }
  return out;
}

interface TextBounce {
  recipients: Array<{ address: string; context: string }>;
}

function textRecipients(bounceText: string, root: MimePart, returned: MimeHeader[] | null): TextBounce {
  const excluded = excludedAddresses(root, returned);
  const found: Array<{ address: string; context: string }> = [];
  const seen = new Set<string>();
  const push = (address: string, context: string) => {
    const a = address.replace(/^[.'`]+|[.'`]+$/g, '');
    const key = a.toLowerCase();
    if (seen.has(key) || found.length >= MAX_RECIPIENTS) return;
    if (/^(?:mailer-daemon|postmaster|double-bounce|root|nobody|noreply|no-reply|abuse)@/i.test(a) && excluded.has(key))
      return;
    if (/^(?:mailer-daemon|postmaster|double-bounce)@/i.test(a)) return;
    seen.add(key);
    found.push({ address: a, context });
  };

  const failed = header(root, 'x-failed-recipients');
  const lines = bounceText.split(/\r?\n/);
  const contextAt = (i: number) => lines.slice(i, i + 8).join('\n');

  if (failed) {
    for (const a of failed.match(ADDRESS_RE) ?? []) {
      const idx = lines.findIndex((l) => l.toLowerCase().includes(a.toLowerCase()));
      push(a, idx >= 0 ? contextAt(idx) : bounceText);
    }
    if (found.length) return { recipients: found };
  }

  // Lines that name an address as the subject of the failure: "<a@b>:", "a@b:", "  a@b", "a@b... reason", "To: a@b".
  const structured: Array<{ address: string; context: string }> = [];
  for (let i = 0; i < lines.length && i < 2000; i++) {
    const line = lines[i] ?? '';
    if (line.length > 1000) continue;
    const m =
      /^\s*<([^<>\s]{3,200}@[^<>\s]{1,200})>\s*(?::|\.\.\.|\(|$|[,;]|\s-)/.exec(line) ??
      /^\s{0,12}(?:rcpt to:|recipient:|to:|original recipient:|address:|failed recipient:|recipient address:|invalid recipient:|destinataire\s*:)?\s*<?([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253})>?\s*(?::|\.\.\.|$|\s\(|\s-|,)/i.exec(
        line
      );
    if (!m || !m[1]) continue;
    const addr = firstAddress(m[1]);
    if (!addr || excluded.has(addr.toLowerCase())) continue;
    structured.push({ address: addr, context: contextAt(i) });
  }
  for (const s of structured) push(s.address, s.context);
  if (found.length) return { recipients: found };

  // Any other address in the text.
  for (let i = 0; i < lines.length && i < 2000; i++) {
    const line = lines[i] ?? '';
    for (const a of line.slice(0, 1000).match(ADDRESS_RE) ?? []) {
      if (excluded.has(a.toLowerCase())) continue;
      push(a, contextAt(Math.max(0, i - 1)));
    }
    if (found.length) break;
  }
  if (found.length) return { recipients: found };

  if (returned) {
    const to = header({ headers: returned }, 'to');
    const a = firstAddress(to);
    if (a) push(a, bounceText);
  }
  return { recipients: found };
}

function parseBounceSync(raw: string | Buffer, options: ParseBounceOptions): ParsedBounce {
  const maxBytes = Math.max(1024, options.maxBytes ?? DEFAULT_MAX_BYTES);
  let text: string;
  if (Buffer.isBuffer(raw)) text = raw.subarray(0, maxBytes).toString('latin1');
  else if (typeof raw === 'string')
    text = Buffer.from(raw.slice(0, maxBytes), 'utf8').subarray(0, maxBytes).toString('latin1');
  else return EMPTY();
  if (!text.trim()) return EMPTY();
  // Drop an mbox "From " line.
  text = text.replace(/^From [^\n]{0,500}\n/, '');

  const root = parseMime(text);
  if (!root.headers.length) return EMPTY();
  const c = collect(root);
  const rootType = root.contentType;
  const reportType = (root.params['report-type'] ?? '').toLowerCase();

  // Non-MIME bounces quote the returned message inline.
  let texts = c.texts.filter((t) => t.trim());
  const fullText = texts.join('\n').slice(0, MAX_SCAN);
  let returned = c.returned;
  if (!returned) {
    const joined = texts.join('\n');
    const marker = RETURNED_MARKERS.exec(joined);
    if (marker) {
      const after = joined
        .slice(marker.index + marker[0].length)
        .replace(/^[^\n]*\n/, '')
        .replace(/^\s*\n/, '');
      const hdrs = parseHeaderBlock(splitHeaderBody(after.replace(/^[ \t]+/gm, '')).head);
      if (hdrs.some((h) => h.name === 'from' || h.name === 'subject' || h.name === 'message-id' || h.name === 'to'))
        returned = hdrs;
      texts = [joined.slice(0, marker.index)];
    }
  }
  const originalHeaders = returned ? headersRecord(returned) : {};
  const originalMessageId = originalHeaders['message-id']?.replace(/^\s*<|>\s*$/g, '') ?? null;
  const verpAddress = firstAddress(header(root, 'to'));
  const base = { originalMessageId, originalHeaders, verpAddress };
  const bounceText = texts.join('\n').slice(0, MAX_SCAN);

  // ARF feedback reports.
  const feedbackBodies = c.feedback.length
    ? c.feedback
    : /^feedback-type:/im.test(bounceText) || reportType === 'feedback-report'
      ? [bounceText]
      : [];
  if (feedbackBodies.length) {
    const recipients: BouncedRecipient[] = [];
    for (const body of feedbackBodies) {
      const fields = parseHeaderBlock(body.replace(/\r?\n[ \t]*\r?\n/g, '\n').slice(0, MAX_SCAN));
      const fb = { headers: fields };
      const type = (header(fb, 'feedback-type') ?? 'abuse').trim().toLowerCase().split(/[\s;]/)[0] || 'abuse';
      const rcpts = [...headerAll(fb, 'original-rcpt-to'), ...headerAll(fb, 'removal-recipient')]
        .map((v) => firstAddress(v))
        .filter((v): v is string => !!v);
      if (!rcpts.length) {
        const to = firstAddress(returned ? header({ headers: returned }, 'to') : null);
        rcpts.push(to ?? '');
      }
      for (const r of rcpts.slice(0, MAX_RECIPIENTS)) {
        recipients.push({
          recipient: r,
          status: null,
          replyCode: null,
          hardBounce: false,
          reason: 'feedback',
          feedbackType: type,
          diagnostic: null,
        });
      }
    }
    return { kind: 'complaint', recipients, ...base };
  }

  // RFC 3464 delivery status notifications.
  const dsnBodies = c.dsn.length ? c.dsn : [];
  for (const t of [bounceText, fullText]) {
    if (dsnBodies.length) break;
    if (/^(?:final|original)-recipient:/im.test(t) && /^(?:status|action):/im.test(t))
      dsnBodies.push(t.slice(t.search(/^(?:reporting-mta|final-recipient|original-recipient|arrival-date):/im)));
  }
  const recipients: BouncedRecipient[] = [];
  for (const body of dsnBodies) {
    const { perMessage, records } = parseDsnBody(body);
    for (const r of records) {
      if (recipients.length >= MAX_RECIPIENTS) break;
      const f = r.fields;
      const addr = cleanRecipient(f['final-recipient'] ?? f['original-recipient'] ?? f['x-actual-recipient'] ?? '');
      if (!addr) continue;
      const diagnostic = f['diagnostic-code'] ?? perMessage['diagnostic-code'] ?? null;
      const action = f.action ?? null;
      recipients.push(makeRecipient(addr, f.status ?? null, diagnostic, bounceText, action));
    }
  }
  if (recipients.length) return { kind: 'bounce', recipients, ...base };

  const from = header(root, 'from') ?? '';
  const subject = header(root, 'subject') ?? '';
  const bounceLike =
    rootType === 'multipart/report' ||
    BOUNCE_SENDER.test(from) ||
    BOUNCE_SUBJECT.test(subject) ||
    !!header(root, 'x-failed-recipients') ||
    BOUNCE_BODY.test(bounceText.slice(0, 8000));

  const strongBounce =
    BOUNCE_SENDER.test(from) ||
    BOUNCE_SUBJECT.test(subject) ||
    !!header(root, 'x-failed-recipients') ||
    rootType === 'multipart/report';
  if (isAutoReply(root) && !strongBounce) {
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
  if (!bounceLike) return { kind: 'other', recipients: [], ...base };

  const found = textRecipients(bounceText, root, returned);
  if (!found.recipients.length) return { kind: 'other', recipients: [], ...base };
  for (const r of found.recipients) {
    recipients.push(
      makeRecipient(
        r.address,
        null,
        null,
        r.context.trim() ? r.context + '\n' + bounceText.slice(0, 2000) : bounceText,
        null
      )
    );
  }
  return { kind: 'bounce', recipients, ...base };
}
