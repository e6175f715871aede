import { createHash, randomUUID } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import { describeImapError, emptyCounts, pollImapMailbox, type ImapMailboxSettings, type ImapMessageOutcome, type ImapPollCounts } from '../engine/imap-mailbox';
import { getService } from '../utils/get-service';
import type { InboundSummary } from './inbound';

/**
 * Bounce mailboxes: bounces and complaints fetched over IMAP, from the global mailbox of the config
 * (`bounces.imap`) and from each server's own (its `imap` settings, password encrypted), every
 * `bounces.imap.pollIntervalSec` in processes that run queue workers, and on demand (the admin's
 * POST /multi-smtp/bounce-mailboxes/poll). Servers that share one mailbox (same host, port, user and
 * folder) have it polled once. Each message is handled exactly as one posted to the inbound
 * endpoint (services/inbound.ts: the parse pool, then services/bounces.ts), so it is linked to its
 * message by VERP, Message-ID or X-Multi-SMTP-ID in the same way. The IMAP side is
 * engine/imap-mailbox.ts.
 *
 * Processed once:
 * - one process polls a mailbox at a time: a Redis lock per mailbox (`<prefix>:imap:<id>:lock`,
 *   SET NX PX with a token, renewed while the poll runs, released at its end; a crashed holder's
 *   lapses). A poll that loses its lock stops before its next message.
 * - per message: applied, then its UID recorded in Redis under the folder's UIDVALIDITY
 *   (`<prefix>:imap:<id>:done:<uidvalidity>`), then marked in the mailbox (keyword, moved or
 *   \Seen). A crash between applying and recording reads it again next time, and applying is
 *   idempotent: services/bounces.ts claims (message, recipient, outcome) once within
 *   `bounces.dedupeDays` (the report's hash when it names no message of ours), so it counts as a
 *   duplicate and changes nothing. A crash between recording and marking only marks it next time.
 * - the mailbox itself says what is read (the keyword), so a new UIDVALIDITY (a rebuilt folder)
 *   or a flushed Redis re-reads at most the messages whose mark was lost, applied once again by the
 *   same claim.
 */

/** Messages read per mailbox and poll at most. */
const MAX_MESSAGES_PER_POLL = 500;
/** A mailbox lock lives at least this long without renewal. */
const MIN_LOCK_MS = 60_000;
/** How long the last poll's status of a mailbox is kept. */
const STATUS_TTL_SEC = 30 * 24 * 3600;
const DAY_MS = 24 * 3600 * 1000;

/** Renews the lock only while we still hold it; 1 when renewed. */
const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface BounceMailbox {
  /** Stable id: a hash of host, port, username and folder. */
  id: string;
  /** 'config' for the global mailbox; otherwise the servers it belongs to. */
  source: 'config' | 'servers';
  servers: Array<{ documentId: string; name: string }>;
  settings: ImapMailboxSettings;
}

/** A mailbox as responses name it (no secret). */
export interface MailboxIdentity {
  id: string;
  source: BounceMailbox['source'];
  servers: BounceMailbox['servers'];
  host: string;
  port: number;
  username: string;
  mailbox: string;
}

/** What one poll of one mailbox did; what the poll-now endpoint and the status show. */
export interface MailboxPollResult extends MailboxIdentity {
  /** ok; busy: another process was polling it; error: see `error`. */
  status: 'ok' | 'busy' | 'error';
  error: string | null;
  at: string;
  durationMs: number;
  counts: ImapPollCounts;
  /** What the processed messages did (the inbound endpoint's summary, summed); null when none was processed. */
  summary: InboundSummary | null;
}

export interface PollReport {
  mailboxes: MailboxPollResult[];
  totals: { mailboxes: number; errors: number; processed: number; reports: number; other: number };
}

export const mailboxIdOf = (settings: Pick<ImapMailboxSettings, 'host' | 'port' | 'username' | 'mailbox'>): string =>
  createHash('sha256').update(`${settings.host.toLowerCase()}\n${settings.port}\n${settings.username}\n${settings.mailbox}`).digest('hex').slice(0, 16);

const bounceMailboxes = ({ strapi }: { strapi: Core.Strapi }) => {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<PollReport> | null = null;
  let stopping = false;

  const config = () => getService(strapi, 'runtime').config();
  const engine = () => getService(strapi, 'engine');
  const keyOf = (id: string, ...parts: string[]) => [engine().keyPrefix(), 'imap', id, ...parts].join(':');
  const labelOf = (mailbox: BounceMailbox) => {
    const { username, host, port, mailbox: folder } = mailbox.settings;
    const owner = mailbox.source === 'config' ? 'bounces.imap' : `server ${mailbox.servers.map((server) => server.name).join(', ')}`;
    return `${username}@${host}:${port}/${folder} (${owner})`;
  };

  /** Every configured mailbox, once each (servers sharing one are listed together). */
  const mailboxes = async (): Promise<BounceMailbox[]> => {
    const found = new Map<string, BounceMailbox>();
    const imap = config().bounces.imap;
    if (imap.host && imap.auth) {
      const settings: ImapMailboxSettings = {
        host: imap.host,
        port: imap.port,
        security: imap.security,
        username: imap.auth.user,
        password: imap.auth.pass,
        mailbox: imap.mailbox,
        processed: imap.processed,
      };
      found.set(mailboxIdOf(settings), { id: mailboxIdOf(settings), source: 'config', servers: [], settings });
    }
    for (const { server, mailbox } of await getService(strapi, 'servers').imapMailboxes()) {
      const id = mailboxIdOf(mailbox);
      const known = found.get(id);
      if (known) known.servers.push(server);
      else found.set(id, { id, source: 'servers', servers: [server], settings: mailbox });
    }
    return [...found.values()];
  };

  const identityOf = (mailbox: BounceMailbox): MailboxIdentity => ({
    id: mailbox.id,
    source: mailbox.source,
    servers: mailbox.servers,
    host: mailbox.settings.host,
    port: mailbox.settings.port,
    username: mailbox.settings.username,
    mailbox: mailbox.settings.mailbox,
  });

  const resultOf = (mailbox: BounceMailbox, started: number): MailboxPollResult => ({
    ...identityOf(mailbox),
    status: 'ok',
    error: null,
    at: new Date(started).toISOString(),
    durationMs: 0,
    counts: emptyCounts(),
    summary: null,
  });

  /** Polls one mailbox under its lock; never throws (a failure is the result's error, logged without secrets). */
  const pollMailbox = async (mailbox: BounceMailbox): Promise<MailboxPollResult> => {
    const started = Date.now();
    const result = resultOf(mailbox, started);
    const redis = engine().redis();
    const { timeoutMs } = config().bounces.imap;
    const lockKey = keyOf(mailbox.id, 'lock');
    const lockMs = Math.max(MIN_LOCK_MS, timeoutMs * 4);
    const token = randomUUID();
    let lockLost = false;
    let renewal: NodeJS.Timeout | null = null;
    try {
      if ((await redis.set(lockKey, token, 'PX', lockMs, 'NX')) !== 'OK') {
        result.status = 'busy';
        return result;
      }
      renewal = setInterval(() => {
        redis
          .eval(RENEW_SCRIPT, 1, lockKey, token, String(lockMs))
          .then((renewed) => {
            if (Number(renewed) !== 1) lockLost = true;
          })
          .catch(() => undefined);
      }, Math.floor(lockMs / 3));
      renewal.unref();

      const dedupeMs = Math.ceil(config().bounces.dedupeDays * DAY_MS);
      const doneKey = (uidValidity: string) => keyOf(mailbox.id, 'done', uidValidity);
      const counts = await pollImapMailbox(
        mailbox.settings,
        {
          async doneOf(uidValidity, uids) {
            const key = doneKey(uidValidity);
            // Below the lowest unmarked UID every message is marked or gone: its record is no longer needed.
            if (uids.length === 0) await redis.del(key);
            else await redis.zremrangebyscore(key, '-inf', `(${uids[0]}`);
            const done = new Map<number, ImapMessageOutcome>();
            if (uids.length === 0) return done;
            for (const member of await redis.zrangebyscore(key, uids[0]!, uids.at(-1)!)) {
              const [uid, outcome] = member.split(':');
              done.set(Number(uid), outcome === 'report' ? 'report' : 'other');
            }
            return done;
          },
          async process(raw) {
            const processed = await getService(strapi, 'inbound').processBody(raw, 'message/rfc822');
            const total = result.summary;
            if (!total) result.summary = { ...processed.summary };
            else for (const [field, value] of Object.entries(processed.summary) as Array<[keyof InboundSummary, number]>) total[field] += value;
            return processed.messages.some((message) => message.kind === 'bounce' || message.kind === 'complaint') ? 'report' : 'other';
          },
          async recordDone(uidValidity, uid, outcome) {
            await redis.multi().zadd(doneKey(uidValidity), uid, `${uid}:${outcome}`).pexpire(doneKey(uidValidity), dedupeMs).exec();
          },
          async keepGoing() {
            return !stopping && !lockLost;
          },
        },
        { timeoutMs, maxMessages: MAX_MESSAGES_PER_POLL, maxBytes: config().bounces.maxInboundBytes }
      );
      result.counts = counts;
      if (counts.processed > 0 || counts.remarked > 0) {
        strapi.log.info(
          `[multi-smtp] bounce mailbox ${labelOf(mailbox)}: ${counts.processed} messages processed (${counts.reports} bounces or complaints, ${counts.other} others)`
        );
      }
    } catch (error) {
      const described = describeImapError(error, [mailbox.settings.password]);
      result.status = 'error';
      result.error = described.authenticationFailed ? `IMAP login refused for ${mailbox.settings.username}: ${described.message}` : described.message;
      strapi.log.error(`[multi-smtp] bounce mailbox ${labelOf(mailbox)}: poll failed: ${result.error}`);
    } finally {
      if (renewal) clearInterval(renewal);
      if (result.status !== 'busy') await redis.eval(RELEASE_SCRIPT, 1, lockKey, token).catch(() => undefined);
    }
    result.durationMs = Date.now() - started;
    if (result.status !== 'busy') {
      await redis.set(keyOf(mailbox.id, 'status'), JSON.stringify(result), 'EX', STATUS_TTL_SEC).catch(() => undefined);
    }
    return result;
  };

  const pollAll = async (): Promise<PollReport> => {
    const results: MailboxPollResult[] = [];
    for (const mailbox of await mailboxes()) {
      if (stopping) break;
      results.push(await pollMailbox(mailbox));
    }
    return {
      mailboxes: results,
      totals: {
        mailboxes: results.length,
        errors: results.filter((result) => result.status === 'error').length,
        processed: results.reduce((sum, result) => sum + result.counts.processed, 0),
        reports: results.reduce((sum, result) => sum + result.counts.reports, 0),
        other: results.reduce((sum, result) => sum + result.counts.other, 0),
      },
    };
  };

  /** One poll at a time in this process; a caller arriving during one waits for it, then runs its own. */
  const runExclusive = async (): Promise<PollReport> => {
    while (running) await running.catch(() => undefined);
    const run = pollAll();
    running = run;
    try {
      return await run;
    } finally {
      if (running === run) running = null;
    }
  };

  const schedule = () => {
    if (stopping) return;
    timer = setTimeout(() => {
      timer = null;
      runExclusive()
        .catch((error: unknown) => strapi.log.error(`[multi-smtp] polling the bounce mailboxes failed: ${(error as Error).message}`))
        .finally(schedule);
    }, config().bounces.imap.pollIntervalSec * 1000);
    timer.unref();
  };

  return {
    /** The configured mailboxes with their last poll (any process's), without secrets. */
    async status(): Promise<Array<MailboxIdentity & { lastPoll: MailboxPollResult | null }>> {
      const redis = engine().redis();
      const found = [];
      for (const mailbox of await mailboxes()) {
        const stored = await redis.get(keyOf(mailbox.id, 'status')).catch(() => null);
        found.push({ ...identityOf(mailbox), lastPoll: stored ? (JSON.parse(stored) as MailboxPollResult) : null });
      }
      return found;
    },

    /** Polls every mailbox now (after a poll this process is running ends); what it did, per mailbox. */
    pollNow(): Promise<PollReport> {
      return runExclusive();
    },

    /** Polls every pollIntervalSec where queue workers run (the first poll one interval after boot). */
    start() {
      if (timer || !config().worker.enabled) return;
      stopping = false;
      schedule();
    },

    /** Stops the loop; a poll under way ends after its current message. */
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
};

export type BounceMailboxesService = ReturnType<typeof bounceMailboxes>;
export default bounceMailboxes;
