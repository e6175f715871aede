import { createHash } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import type { MessageLogEntry } from '../../../shared/contracts/messages';
import type { StatType } from '../../../shared/contracts/reports';
import { normaliseAddress } from '../engine/address';
import type { BouncedRecipient, BounceKind, ParsedBounce } from '../engine/bounce-parser';
import { createVerp, type Verp } from '../engine/verp';
import { getService } from '../utils/get-service';

/**
 * Bounce and complaint processing: what a parsed report (engine/bounce-parser.ts, or a provider
 * webhook turned into the same shape) does.
 *
 * 1. Link it to the message it is about: a VERP token (engine/verp.ts; signed, so trusted as it is)
 *    in the bounce's envelope recipient or headers, or in the returned message; else the returned
 *    message's X-Multi-SMTP-ID or Message-ID (`<id@domain>`), or an id a webhook carries; those are
 *    only taken when the delivery log knows the message.
 * 2. For each reported recipient:
 *    hard bounce  the log row becomes 'bounced' (lastReply: the diagnostic), the address is suppressed
 *                 ('hard-bounce', source message:<id>) and its subscriber marked bounced;
 *    soft bounce  counted per address in a Redis sorted set; softBounceLimit of them within
 *                 softBounceWindowDays suppress the address ('soft-bounces');
 *    complaint    suppressed ('complaint'), subscriber marked complained;
 *    auto-replies, delivery reports and anything else are ignored (and said so in the result).
 *    Each rule can be turned off (config `bounces`). A report that cannot be linked to a message
 *    this site sent suppresses nothing unless `bounces.suppressUnlinked` is on.
 * 3. Each counts in the statistics (hardBounce / softBounce / complaint, with the original's server,
 *    group and campaign) and is announced on the event hub (`multi-smtp.message.bounced`,
 *    `multi-smtp.message.complained`).
 *
 * Idempotent: a (message, recipient, kind) is applied once within `bounces.dedupeDays`, so a report
 * posted twice (a retried pipe, a webhook delivered again) counts once.
 */

export type BounceOutcome = 'hard' | 'soft' | 'complaint' | 'ignored';

export type BounceAction =
  | 'marked-bounced'
  | 'suppressed'
  | 'already-suppressed'
  | 'subscriber-updated'
  | 'soft-counted'
  | 'soft-limit-reached'
  | 'duplicate'
  | 'unlinked'
  | 'not-suppressed'
  | 'invalid-address'
  | 'ignored';

export interface RecipientResult {
  recipient: string;
  outcome: BounceOutcome;
  /** The message it was linked to, null when none was found. */
  messageId: string | null;
  status: string | null;
  replyCode: string | null;
  reason: string;
  feedbackType: string | null;
  actions: BounceAction[];
}

export interface BounceResult {
  kind: BounceKind;
  /** How the report was linked: 'verp', 'header' (X-Multi-SMTP-ID / Message-ID / a webhook's id) or null. */
  linkedBy: 'verp' | 'header' | null;
  linkedMessageIds: string[];
  recipients: RecipientResult[];
  /** Every action taken, once each, for a one-line summary. */
  actions: BounceAction[];
}

export interface ProcessOptions {
  /** Where the report came from, recorded on what it does: 'inbound', 'ses', 'sendgrid'... */
  source: string;
  /** The whole report as received: scanned for VERP tokens and the plugin's header when the parser found none. */
  raw?: string;
  /** Message ids the report names outside its text (a webhook's custom args); checked against the delivery log. */
  messageIds?: string[];
  /** Addresses the report was delivered to (envelope recipient, Delivered-To...); checked for a VERP token. */
  envelopeRecipients?: string[];
  /** Deduplicates a report that names no message (a provider's event id); else the raw text's hash is used. */
  dedupeId?: string;
  /**
   * A synchronous bounce the engine already announced: no statistics, protection sample or event
   * (the engine's own event carries them), only the suppression rules.
   */
  fromEngine?: boolean;
  /** The message, when the caller already has it (no linking). */
  entry?: MessageLogEntry;
  /** ms; default now. */
  at?: number;
}

type BounceStat = Extract<StatType, 'hardBounce' | 'softBounce' | 'complaint' | 'unsubscribe'>;

/** Sources whose reports are signed by the provider that saw the bounce (SNS, SendGrid's ECDSA); mailed-in reports are not. */
const SIGNED_SOURCES = new Set(['ses', 'sendgrid']);

/** Longest diagnostic kept in a suppression's note and the log's lastReply. */
const NOTE_MAX = 500;
/** Longest text scanned for ids when the parser found none. */
const MAX_RAW_SCAN = 2 * 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;
/** What the parser calls reports of a successful delivery. */
const DELIVERED = new Set(['delivered', 'feedback']);
/** DSN actions (RFC 3464) that do not report a failure. */
const NOT_FAILED = new Set(['delayed', 'delivered', 'relayed', 'expanded']);

const HEADER_ID = /^X-Multi-SMTP-ID:[ \t]*([A-Za-z0-9_.-]{1,100})/gim;
const MESSAGE_ID = /^Message-ID:[ \t]*<([A-Za-z0-9_.-]{1,100})@/gim;

const clipLine = (value: string | null | undefined, max = NOTE_MAX): string | null => {
  if (!value) return null;
  const line = value.replace(/\s+/g, ' ').trim();
  return line ? line.slice(0, max) : null;
};

const plausibleId = (value: string | null | undefined): value is string =>
  typeof value === 'string' && /^[A-Za-z0-9_.-]{1,100}$/.test(value);

/** The id in a Message-ID the engine made (`<id@domain>`), or the value itself when it has no '@'. */
const idOfMessageId = (value: string | null | undefined): string | null => {
  if (!value) return null;
  const bare = value.trim().replace(/^<|>$/g, '');
  const local = bare.includes('@') ? bare.slice(0, bare.lastIndexOf('@')) : bare;
  return plausibleId(local) ? local : null;
};

const allMatches = (pattern: RegExp, text: string): string[] => {
  pattern.lastIndex = 0;
  const found: string[] = [];
  for (let match = pattern.exec(text); match && found.length < 20; match = pattern.exec(text)) found.push(match[1]!);
  return found;
};

/** An empty report of a kind (the webhooks fill in recipients). */
export const report = (kind: BounceKind, recipients: BouncedRecipient[] = []): ParsedBounce => ({
  kind,
  recipients,
  originalMessageId: null,
  originalHeaders: {},
  verpAddress: null,
});

const bounces = ({ strapi }: { strapi: Core.Strapi }) => {
  let verp: Verp | null = null;
  let verpConfigKey = '';

  const config = () => getService(strapi, 'runtime').config();
  const engine = () => getService(strapi, 'engine');
  const key = (...parts: string[]) => [engine().keyPrefix(), 'bounce', ...parts].join(':');

  /** Signs and reads VERP tokens; reading works even while verpDomain is unset (mail sent before it was). */
  const verpOf = (): Verp => {
    const { bounces: settings } = config();
    const configKey = `${settings.verpDomain ?? ''}|${settings.verpLocalPart}`;
    if (!verp || configKey !== verpConfigKey) {
      verp = createVerp(getService(strapi, 'runtime').encryptionKeys(), {
        domain: settings.verpDomain ?? 'verp.invalid',
        localPart: settings.verpLocalPart,
      });
      verpConfigKey = configKey;
    }
    return verp;
  };

  const recordStat = (type: BounceStat, entry: MessageLogEntry | null, at: number) => {
    try {
      getService(strapi, 'stats').record({
        type,
        at,
        serverId: entry?.serverId ?? null,
        groupSlug: entry?.group ?? null,
        campaignId: entry?.campaignId ?? null,
      });
    } catch (error) {
      strapi.log.warn(`[multi-smtp] counting a ${type} failed: ${(error as Error).message}`);
    }
  };

  /**
   * Whether a mailed-in report may move a server's protection rates: it must come from a recipient
   * the message really went to, and at least protection.minReporters distinct recipients of the
   * server must have reported within the window (a Redis sorted set of address hashes per server).
   */
  const enoughReporters = async (serverId: string, reporter: string, at: number): Promise<boolean> => {
    const { minReporters, reporterWindowHours } = config().protection;
    if (minReporters <= 1) return true;
    const windowMs = reporterWindowHours * 3600_000;
    const reportersKey = `${engine().keyPrefix()}:protect:{srv:${serverId}}:reporters`;
    const member = createHash('sha256').update(reporter).digest('base64url').slice(0, 22);
    const replies = await engine()
      .redis()
      .multi()
      .zadd(reportersKey, at, member)
      .zremrangebyscore(reportersKey, '-inf', at - windowMs)
      .zcard(reportersKey)
      .pexpire(reportersKey, windowMs)
      .exec();
    return Number(replies?.[2]?.[1] ?? 0) >= minReporters;
  };

  /** The sending server's protection window (services/protection.ts); resolves once any action it triggered is taken, never rejects. */
  const observe = async (
    serverId: string | null | undefined,
    outcome: 'hardBounce' | 'softBounce' | 'complaint',
    reply: string | null,
    at: number,
    report: { source: string; reporter: string; proven: boolean }
  ) => {
    if (!serverId) return;
    if (!SIGNED_SOURCES.has(report.source) && !(report.proven && (await enoughReporters(serverId, report.reporter, at)))) return;
    await getService(strapi, 'protection').observe({ serverId, outcome, reply, at, afterAccept: true });
  };

  const emit = (event: 'bounced' | 'complained', payload: object) => {
    try {
      strapi.eventHub.emit(`multi-smtp.message.${event}`, payload);
    } catch (error) {
      strapi.log.warn(`[multi-smtp] an event listener failed: ${(error as Error).message}`);
    }
  };

  const findEntry = async (messageId: string): Promise<MessageLogEntry | null> => {
    try {
      return await getService(strapi, 'messageLog').get(messageId);
    } catch {
      return null;
    }
  };

  /** The message a report is about, and how it was found. */
  const link = async (
    parsed: ParsedBounce,
    options: ProcessOptions
  ): Promise<{ messageId: string | null; entry: MessageLogEntry | null; by: BounceResult['linkedBy']; verpRecipient: string | null }> => {
    const v = verpOf();
    // A token bound to its message's one recipient verifies only with that address among the report's.
    const reportedAddresses = (parsed.recipients ?? []).map((line) => line.recipient).filter(Boolean);
    const headers = parsed.originalHeaders ?? {};
    const raw = options.raw ? options.raw.slice(0, MAX_RAW_SCAN) : '';
    const headBlock = raw ? raw.slice(0, Math.max(0, raw.search(/\r?\n\r?\n/)) || raw.length) : '';

    // 1. VERP: signed, so a match names our message whatever the log still holds.
    const verpSources = [
      ...(options.envelopeRecipients ?? []),
      parsed.verpAddress ?? '',
      headBlock,
      headers['return-path'] ?? '',
      headers['to'] ?? '',
      raw,
    ];
    for (const text of verpSources) {
      const found = text ? (v.verify(text, reportedAddresses) ?? v.find(text, reportedAddresses)) : null;
      if (found) return { messageId: found.messageId, entry: await findEntry(found.messageId), by: 'verp', verpRecipient: found.recipient };
    }

    // 2. Ids from headers or the webhook: only when the delivery log knows them.
    const candidates = [
      ...(options.messageIds ?? []).map(idOfMessageId),
      idOfMessageId(headers['x-multi-smtp-id']),
      idOfMessageId(parsed.originalMessageId),
      ...(raw ? allMatches(HEADER_ID, raw) : []),
      ...(raw ? allMatches(MESSAGE_ID, raw) : []),
    ].filter(plausibleId);
    for (const messageId of [...new Set(candidates)].slice(0, 20)) {
      const entry = await findEntry(messageId);
      if (entry) return { messageId, entry, by: 'header', verpRecipient: null };
    }
    return { messageId: null, entry: null, by: null, verpRecipient: null };
  };

  const outcomeOf = (kind: BounceKind, recipient: BouncedRecipient): BounceOutcome => {
    if (kind === 'complaint') return 'complaint';
    if (kind !== 'bounce') return 'ignored';
    if (recipient.status?.startsWith('2.') || DELIVERED.has(recipient.reason)) return 'ignored';
    // A warning ("delayed": still being retried) or a success report; the final failure, if any, comes later.
    if (recipient.action && NOT_FAILED.has(recipient.action.toLowerCase())) return 'ignored';
    return recipient.hardBounce ? 'hard' : 'soft';
  };

  /** Claims (message or report, recipient, outcome) once; null when it was already applied. */
  const claim = async (identity: string, recipient: string, outcome: BounceOutcome | 'unsubscribe'): Promise<string | null> => {
    const digest = createHash('sha256').update(`${identity}\n${recipient}\n${outcome}`).digest('hex').slice(0, 32);
    const dedupeKey = key('seen', digest);
    const ttlSec = Math.max(60, Math.round(config().bounces.dedupeDays * 24 * 3600));
    const claimed = await engine().redis().set(dedupeKey, '1', 'EX', ttlSec, 'NX');
    return claimed === 'OK' ? dedupeKey : null;
  };

  /** Counts a soft bounce of an address; true when it reached the limit within the window. */
  const countSoft = async (address: string, member: string, at: number): Promise<{ count: number; limitReached: boolean }> => {
    const { softBounceLimit, softBounceWindowDays } = config().bounces;
    const windowMs = softBounceWindowDays * DAY_MS;
    const softKey = key('soft', address);
    const results = await engine()
      .redis()
      .multi()
      .zremrangebyscore(softKey, '-inf', at - windowMs)
      .zadd(softKey, at, member)
      .zcard(softKey)
      .pexpire(softKey, Math.ceil(windowMs) + 60_000)
      .exec();
    const count = Number(results?.[2]?.[1] ?? 0);
    return { count, limitReached: softBounceLimit > 0 && count >= softBounceLimit };
  };

  /** Marks the delivery log row bounced (through the log's writer, so a buffered state cannot overwrite it). */
  const markLogBounced = async (entry: MessageLogEntry, diagnostic: string | null, at: number): Promise<boolean> => {
    // Only a delivered message: one still being tried is the engine's to finish.
    if (entry.status !== 'sent') return false;
    getService(strapi, 'messageLog').record({
      ...entry,
      status: 'bounced',
      lastReply: clipLine(diagnostic, 2000) ?? entry.lastReply,
      finishedAt: entry.finishedAt ?? at,
    });
    entry.status = 'bounced';
    return true;
  };

  /** The address a recipient line stands for in the linked message (a redacted or forwarded one falls back to the only recipient). */
  const resolveRecipient = (reported: string, entry: MessageLogEntry | null): { address: string | null; inMessage: boolean } => {
    let address: string | null = null;
    try {
      address = reported ? normaliseAddress(reported) : null;
    } catch {
      address = null;
    }
    if (!entry) return { address, inMessage: false };
    const recipients = entry.recipients.map((recipient) => recipient.toLowerCase());
    if (address && recipients.includes(address)) return { address, inMessage: true };
    if (recipients.length === 1) return { address: recipients[0]!, inMessage: true };
    return { address, inMessage: false };
  };

  /** Suppression (and subscriber status) for one recipient; returns the actions taken. */
  const suppress = async (
    outcome: 'hard' | 'soft' | 'complaint',
    address: string,
    source: string,
    note: string | null
  ): Promise<BounceAction[]> => {
    const subscribers = getService(strapi, 'subscribers');
    try {
      const result =
        outcome === 'complaint'
          ? await subscribers.markComplained(address, { source, note })
          : await subscribers.markBounced(address, { source, note, reason: outcome === 'hard' ? 'hard-bounce' : 'soft-bounces' });
      const actions: BounceAction[] = [result.alreadySuppressed ? 'already-suppressed' : 'suppressed'];
      if (result.statusChanged) actions.push('subscriber-updated');
      return actions;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 400 || (error as Error).name === 'ValidationError') return ['invalid-address'];
      throw error;
    }
  };

  return {
    /** The envelope sender (MAIL FROM) for a message: its VERP address (bound to a lone recipient), or null when VERP is off. */
    envelopeFrom(messageId: string, recipients: readonly string[] = []): string | null {
      if (!config().bounces.verpDomain) return null;
      return verpOf().address(messageId, recipients);
    },

    /** The message id a VERP address or token names (a bound one only with its recipient among `recipients`), or null. */
    verifyVerp(addressOrToken: string, recipients: readonly string[] = []): string | null {
      return verpOf().verify(addressOrToken, recipients)?.messageId ?? null;
    },

    /** Applies a parsed bounce or complaint (see the top of this file). Never throws for what the report says. */
    async process(parsed: ParsedBounce, options: ProcessOptions): Promise<BounceResult> {
      const at = options.at ?? Date.now();
      const settings = config().bounces;
      const announce = !options.fromEngine;
      const { messageId, entry, by, verpRecipient } = options.entry
        ? { messageId: options.entry.id, entry: options.entry, by: 'header' as const, verpRecipient: null }
        : await link(parsed, options);
      const linked = messageId !== null;
      const identity =
        messageId !== null
          ? `message:${messageId}`
          : options.dedupeId
            ? `report:${options.source}:${options.dedupeId}`
            : options.raw
              ? `raw:${createHash('sha256').update(options.raw).digest('hex')}`
              : null;
      const sourceLabel = messageId ? `message:${messageId}` : options.source;

      // A linked report that names nobody (a redacted complaint) is about the message's only recipient.
      let reported = parsed.recipients ?? [];
      if (reported.length === 0 && entry && entry.recipients.length === 1 && (parsed.kind === 'bounce' || parsed.kind === 'complaint')) {
        reported = [
          {
            recipient: entry.recipients[0]!,
            status: null,
            replyCode: null,
            hardBounce: false,
            reason: parsed.kind === 'complaint' ? 'feedback' : 'undefined',
            feedbackType: parsed.kind === 'complaint' ? 'abuse' : null,
            diagnostic: null,
          },
        ];
      }

      const recipients: RecipientResult[] = [];
      const seen = new Set<string>();
      for (const line of reported) {
        const outcome = outcomeOf(parsed.kind, line);
        const { address, inMessage } = resolveRecipient(line.recipient, entry);
        const result: RecipientResult = {
          recipient: address ?? line.recipient,
          outcome,
          messageId,
          status: line.status,
          replyCode: line.replyCode,
          reason: line.reason,
          feedbackType: line.feedbackType,
          actions: [],
        };
        recipients.push(result);
        if (outcome === 'ignored') {
          result.actions.push('ignored');
          continue;
        }
        if (!address) {
          result.actions.push('invalid-address');
          continue;
        }
        if (seen.has(`${address}|${outcome}`)) {
          result.actions.push('duplicate');
          continue;
        }
        seen.add(`${address}|${outcome}`);

        const dedupeKey = identity ? await claim(identity, address, outcome) : null;
        if (identity && !dedupeKey) {
          result.actions.push('duplicate');
          continue;
        }
        try {
          // Only a recipient the message really went to is suppressed: one the log row lists, or, once
          // the row is pruned, the one a bound VERP token proves. A report listing other addresses
          // (a recipient forging a DSN with their own bounce address) suppresses none of them.
          const proven = linked && (inMessage || (by === 'verp' && !entry && address === verpRecipient));
          const trusted = proven || settings.suppressUnlinked;
          const reporter = { source: options.source, reporter: address, proven };
          if (!linked) result.actions.push('unlinked');
          const diagnostic = clipLine(line.diagnostic) ?? clipLine([line.replyCode, line.status, line.reason].filter(Boolean).join(' '));
          const note = clipLine([line.status, line.reason, line.feedbackType, line.diagnostic].filter(Boolean).join(' '));
          const event = {
            message: entry,
            messageId,
            recipient: address,
            source: options.source,
            bounce: {
              outcome,
              hardBounce: outcome === 'hard',
              status: line.status,
              replyCode: line.replyCode,
              reason: line.reason,
              feedbackType: line.feedbackType,
              diagnostic: line.diagnostic,
            },
          };

          if (outcome === 'hard') {
            if (entry && inMessage && (await markLogBounced(entry, diagnostic, at))) result.actions.push('marked-bounced');
            if (settings.suppressOnHardBounce && trusted) result.actions.push(...(await suppress('hard', address, sourceLabel, note)));
            else result.actions.push('not-suppressed');
            if (announce) {
              recordStat('hardBounce', entry, at);
              await observe(entry?.serverId, 'hardBounce', diagnostic, at, reporter);
              emit('bounced', event);
            }
          } else if (outcome === 'soft') {
            const { limitReached } = await countSoft(address, identity ?? `${at}:${Math.random()}`, at);
            result.actions.push('soft-counted');
            if (limitReached) {
              result.actions.push('soft-limit-reached');
              if (trusted) result.actions.push(...(await suppress('soft', address, sourceLabel, note)));
              else result.actions.push('not-suppressed');
            }
            if (announce) {
              recordStat('softBounce', entry, at);
              await observe(entry?.serverId, 'softBounce', diagnostic, at, reporter);
              emit('bounced', event);
            }
          } else {
            if (settings.suppressOnComplaint && trusted) result.actions.push(...(await suppress('complaint', address, sourceLabel, note)));
            else result.actions.push('not-suppressed');
            if (announce) {
              recordStat('complaint', entry, at);
              await observe(entry?.serverId, 'complaint', diagnostic, at, reporter);
              emit('complained', event);
            }
          }
        } catch (error) {
          // Not applied: let the same report be posted again.
          if (dedupeKey) await engine().redis().del(dedupeKey).catch(() => undefined);
          throw error;
        }
      }

      const actions = [...new Set(recipients.flatMap((recipient) => recipient.actions))];
      return { kind: parsed.kind, linkedBy: by, linkedMessageIds: messageId ? [messageId] : [], recipients, actions };
    },

    /**
     * An unsubscribe a provider reports (SendGrid's unsubscribe events): the address is unsubscribed
     * and suppressed as by the plugin's own link, once per event.
     */
    async unsubscribe(email: string, options: ProcessOptions): Promise<{ recipient: string; messageId: string | null; actions: BounceAction[] }> {
      let address: string;
      try {
        address = normaliseAddress(email);
      } catch {
        return { recipient: email, messageId: null, actions: ['invalid-address'] };
      }
      const { messageId, entry } = await link(report('other'), options);
      const identity = messageId ? `message:${messageId}` : options.dedupeId ? `report:${options.source}:${options.dedupeId}` : null;
      const dedupeKey = identity ? await claim(identity, address, 'unsubscribe') : null;
      if (identity && !dedupeKey) return { recipient: address, messageId, actions: ['duplicate'] };
      try {
        const result = await getService(strapi, 'subscribers').unsubscribe({ email: address, campaignId: entry?.campaignId ?? null });
        recordStat('unsubscribe', entry, options.at ?? Date.now());
        const actions: BounceAction[] = [result.alreadySuppressed ? 'already-suppressed' : 'suppressed'];
        if (result.statusChanged) actions.push('subscriber-updated');
        return { recipient: address, messageId, actions };
      } catch (error) {
        if (dedupeKey) await engine().redis().del(dedupeKey).catch(() => undefined);
        if ((error as Error).name === 'ValidationError') return { recipient: address, messageId, actions: ['invalid-address'] };
        throw error;
      }
    },

    /** After a batch of process() calls: writes the delivery log rows they marked bounced, so a 200 means recorded. */
    async settle(results: Array<{ actions: readonly string[] }>): Promise<void> {
      if (results.some((result) => result.actions.includes('marked-bounced'))) await getService(strapi, 'messageLog').flush();
    },

    /**
     * A synchronous hard bounce (the engine's 'bounced' event: every recipient refused for good at
     * RCPT or DATA): the same suppression rule, at once. Not counted again in the statistics (the
     * engine's own event is), and remembered so a DSN about it arriving later counts once.
     */
    async applyEngineBounce(entry: MessageLogEntry): Promise<BounceResult> {
      const parsed: ParsedBounce = {
        kind: 'bounce',
        recipients: entry.recipients.map((recipient) => ({
          recipient,
          status: null,
          replyCode: null,
          hardBounce: true,
          reason: 'userunknown',
          feedbackType: null,
          diagnostic: entry.lastReply,
        })),
        originalMessageId: null,
        originalHeaders: {},
        verpAddress: null,
      };
      return this.process(parsed, { source: 'engine', entry, fromEngine: true });
    },
  };
};

export type BouncesService = ReturnType<typeof bounces>;
export default bounces;
