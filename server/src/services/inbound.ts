import { createHash, timingSafeEqual } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import { PLUGIN_ID } from '../../../shared/plugin-id';
import { bounceParsePool } from '../engine/bounce-parse-pool';
import { splitMboxText, startsLikeMbox, type BounceKind } from '../engine/bounce-parser';
import { getService } from '../utils/get-service';
import type { BounceResult } from './bounces';

/**
 * The inbound side of bounce processing: whole RFC 822 messages (one, or many in an mbox) posted to
 * POST /api/multi-smtp/inbound by an MTA pipe, a mailbox fetcher or `npm run process-bounces`.
 * Each is parsed (engine/bounce-parser.ts) and applied (services/bounces.ts). The parse runs in a
 * worker thread with a time limit (engine/bounce-parse-pool.ts): a message that runs past it is
 * reported as kind 'unparsed' (the request as a whole answers 422 when no message could be parsed),
 * and the event loop never waits on it.
 *
 * The request bodies of the inbound and webhook endpoints are read here, before Strapi's body parser
 * (see captureRawBodies): that parser cuts text/plain at 56 kB and turns JSON into objects, while
 * these endpoints need the exact bytes (a whole message; a body a signature covers).
 */

/** Where captureRawBodies leaves a body for the controllers. */
export const RAW_BODY_STATE = 'multiSmtpRawBody';

export interface RawBody {
  /** The Content-Type the client sent (the header is changed so Strapi's parser leaves the body alone). */
  contentType: string;
  /** Null when the body was not read: too large, or the request is not authorised to send one. */
  bytes: Buffer | null;
  tooLarge: boolean;
}

/** Largest webhook body: SNS messages are at most 256 kB, SendGrid batches a few hundred kB. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** Messages one request may carry. */
export const MAX_MESSAGES_PER_REQUEST = 5000;

export interface InboundMessageResult extends Omit<BounceResult, 'kind'> {
  index: number;
  /** 'unparsed': the parser gave no answer in time (or failed); nothing was applied. */
  kind: BounceKind | 'unparsed';
  /** Why a message is unparsed. */
  error?: string;
}

export interface InboundSummary {
  messages: number;
  bounces: number;
  complaints: number;
  autoReplies: number;
  other: number;
  hardBounces: number;
  softBounces: number;
  suppressed: number;
  duplicates: number;
  unlinked: number;
  /** Messages the parser gave no answer for in time. */
  unparsed: number;
}

export interface InboundResult {
  messages: InboundMessageResult[];
  summary: InboundSummary;
}

export class TooManyMessagesError extends Error {}

/** Constant-time comparison of a bearer token with the configured one (hashes first, so lengths do not leak). */
export const bearerMatches = (authorization: string | undefined, expected: string | undefined): boolean => {
  if (!expected || !authorization) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1]!), digest(expected));
};

/**
 * Splits an mbox (mboxo or mboxrd) into its messages: the bounce parser's splitter (a "From " line
 * with its asctime date, at the start or after an empty line, starts a message; ">From " quoting is
 * undone). Works on latin1 strings so that bytes pass through unchanged.
 */
export const splitMbox = (text: string): string[] => splitMboxText(text, MAX_MESSAGES_PER_REQUEST + 1);

/** The messages of a request body: an mbox (by its type, or a body that starts like one) or a single message. */
export const messagesOf = (bytes: Buffer, contentType: string): string[] => {
  const text = bytes.toString('latin1');
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/mbox' || startsLikeMbox(text)) return splitMbox(text);
  return text.trim() ? [text] : [];
};

/**
 * Reads a request body up to `limit` bytes. Past it, reading stops without destroying the request,
 * so a 413 can still be answered (with Connection: close). Null bytes when the stream failed.
 */
const readLimited = (stream: NodeJS.ReadableStream, limit: number): Promise<{ bytes: Buffer | null; tooLarge: boolean }> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: { bytes: Buffer | null; tooLarge: boolean }) => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > limit) {
        stream.pause();
        finish({ bytes: null, tooLarge: true });
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => finish({ bytes: Buffer.concat(chunks), tooLarge: false });
    const onError = () => finish({ bytes: null, tooLarge: false });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });

/**
 * Reads the raw bodies of the plugin's inbound and webhook endpoints before Strapi's body parser,
 * up to their size limits. An inbound request without the right bearer token is not read at all
 * (the controller answers 404 or 401). Registered in the plugin's register(), so it runs before the
 * app's middlewares; it never throws.
 */
export const captureRawBodies =
  (strapi: Core.Strapi) =>
  async (ctx: { method: string; path: string; req: NodeJS.ReadableStream & { headers: Record<string, string | string[] | undefined> }; state: Record<string, unknown> }, next: () => Promise<unknown>) => {
    if (ctx.method !== 'POST') return next();
    const prefix = String(strapi.config.get('api.rest.prefix', '/api')).replace(/\/+$/, '');
    const base = `${prefix}/${PLUGIN_ID}`;
    let limit: number;
    let authorised = true;
    try {
      if (ctx.path === `${base}/inbound`) {
        const settings = getService(strapi, 'runtime').config().bounces;
        limit = settings.maxInboundBytes;
        const header = ctx.req.headers.authorization;
        authorised = bearerMatches(typeof header === 'string' ? header : undefined, settings.inboundToken);
      } else if (ctx.path === `${base}/webhooks/ses` || ctx.path === `${base}/webhooks/sendgrid`) {
        limit = MAX_WEBHOOK_BYTES;
      } else {
        return next();
      }
    } catch {
      return next();
    }

    const headers = ctx.req.headers;
    const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'] : '';
    const body: RawBody = { contentType, bytes: null, tooLarge: false };
    ctx.state[RAW_BODY_STATE] = body;
    // Keeps Strapi's body parser off this body (it only parses the types it knows).
    headers['content-type'] = 'application/octet-stream';

    const declared = Number(headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) body.tooLarge = true;
    else if (authorised) {
      const read = await readLimited(ctx.req, limit);
      body.bytes = read.bytes;
      body.tooLarge = read.tooLarge;
    }
    return next();
  };

const emptySummary = (): InboundSummary => ({
  messages: 0,
  bounces: 0,
  complaints: 0,
  autoReplies: 0,
  other: 0,
  hardBounces: 0,
  softBounces: 0,
  suppressed: 0,
  duplicates: 0,
  unlinked: 0,
  unparsed: 0,
});

const inbound = ({ strapi }: { strapi: Core.Strapi }) => ({
  /** Parses and applies every message of a request body; the delivery log is written before it returns. */
  async processBody(bytes: Buffer, contentType: string): Promise<InboundResult> {
    const messages = messagesOf(bytes, contentType);
    if (messages.length > MAX_MESSAGES_PER_REQUEST) {
      throw new TooManyMessagesError(`at most ${MAX_MESSAGES_PER_REQUEST} messages per request (this one has ${messages.length})`);
    }
    const bounces = getService(strapi, 'bounces');
    const results: InboundMessageResult[] = [];
    const summary = emptySummary();
    const pool = bounceParsePool();
    for (const [index, raw] of messages.entries()) {
      summary.messages += 1;
      const outcome = await pool.parse(Buffer.from(raw, 'latin1'));
      if (!outcome.ok) {
        strapi.log.warn(`[${PLUGIN_ID}] inbound message ${index} not parsed: ${outcome.error}`);
        results.push({ index, kind: 'unparsed', error: outcome.error, linkedBy: null, linkedMessageIds: [], recipients: [], actions: [] });
        summary.unparsed += 1;
        continue;
      }
      const parsed = outcome.parsed;
      const result = await bounces.process(parsed, { source: 'inbound', raw });
      results.push({ index, ...result });
      if (parsed.kind === 'bounce') summary.bounces += 1;
      else if (parsed.kind === 'complaint') summary.complaints += 1;
      else if (parsed.kind === 'auto-reply') summary.autoReplies += 1;
      else summary.other += 1;
      for (const recipient of result.recipients) {
        const applied = !recipient.actions.includes('duplicate');
        if (recipient.outcome === 'hard' && applied) summary.hardBounces += 1;
        if (recipient.outcome === 'soft' && applied) summary.softBounces += 1;
        if (recipient.actions.includes('suppressed')) summary.suppressed += 1;
        if (recipient.actions.includes('duplicate')) summary.duplicates += 1;
        if (recipient.actions.includes('unlinked')) summary.unlinked += 1;
      }
    }
    // "200" means recorded: the rows marked bounced are in the database when the client hears it.
    await bounces.settle(results);
    return { messages: results, summary };
  },
});

export type InboundService = ReturnType<typeof inbound>;
export default inbound;
