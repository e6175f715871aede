import { createVerify, X509Certificate, type KeyObject } from 'node:crypto';

import type { Core } from '@strapi/strapi';

import type { BouncedRecipient, ParsedBounce } from '../engine/bounce-parser';
import { parsePublicKey } from '../engine/webhook-keys';
import { getService } from '../utils/get-service';
import { report, type BounceResult, type ProcessOptions } from './bounces';

/**
 * Provider webhooks, for "SMTP servers" that are really ESP relays. Both end in the same place as
 * a bounce message posted to the inbound endpoint: services/bounces.ts process().
 *
 * Amazon SES through SNS (POST /api/multi-smtp/webhooks/ses)
 *   Every SNS message is signed (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) with the
 *   certificate at SigningCertURL, which must be https on sns.<region>.amazonaws.com (cached).
 *   Only topics listed in config webhooks.ses.topicArns are taken: anyone can make an SNS topic
 *   that AWS signs. A SubscriptionConfirmation is confirmed (its SubscribeURL fetched) only with
 *   webhooks.ses.autoConfirm and an https SNS URL. Notifications: Bounce (Permanent: hard, else
 *   soft), Complaint, Delivery (ignored); linked through the original's headers SES returns
 *   (X-Multi-SMTP-ID, Message-ID) or the VERP envelope sender (mail.source).
 *
 * SendGrid's event webhook (POST /api/multi-smtp/webhooks/sendgrid)
 *   Signed with ECDSA (P-256, SHA-256) over the X-Twilio-Email-Event-Webhook-Timestamp header and
 *   the raw body; the signature in X-Twilio-Email-Event-Webhook-Signature, the public key in config
 *   webhooks.sendgrid.publicKey. Events: bounce (type 'blocked' or a 4.x.x status: soft), dropped
 *   (for a bounced, invalid, spam-reporting or unsubscribed address), spamreport, unsubscribe and
 *   group_unsubscribe; linked through a custom arg (multi_smtp_id) or smtp-id.
 */

export class WebhookError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 503,
    message: string
  ) {
    super(message);
  }
}

/** Fetches a URL with GET (the SNS certificate, a SubscribeURL). Replaceable in tests: no network there. */
export type HttpGet = (url: string) => Promise<{ status: number; body: string }>;

interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
}

export interface WebhookResult {
  /** SNS: what the message was; SendGrid: 'events'. */
  type: string;
  confirmed?: boolean;
  results: Array<BounceResult | { kind: 'unsubscribe'; recipient: string; actions: string[] } | { kind: 'ignored'; event: string }>;
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_CACHED_CERTIFICATES = 20;
const MAX_EVENTS = 10_000;

/** An https URL on an SNS host (sns.<region>.amazonaws.com), nothing else. */
export const isSnsUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && SNS_HOST.test(url.hostname) && !url.username && !url.password && (url.port === '' || url.port === '443');
  } catch {
    return false;
  }
};

/** The text SNS signs: these fields, each as "Name\nvalue\n", in this order (Subject only when present). */
export const snsStringToSign = (message: SnsMessage): string => {
  const fields =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', ...(message.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.map((field) => `${field}\n${String(message[field as keyof SnsMessage] ?? '')}\n`).join('');
};

const defaultHttpGet: HttpGet = async (url) => {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  const body = await response.text();
  return { status: response.status, body: body.slice(0, MAX_CERTIFICATE_BYTES + 1) };
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/** JSON.parse, or a 400 naming what was not JSON (the body, or the SNS envelope's Message). */
const parseJson = (raw: string, field = 'body'): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    throw new WebhookError(400, `${field}: is not JSON`);
  }
};

const recipientOf = (recipient: string, fields: Partial<BouncedRecipient>): BouncedRecipient => ({
  recipient,
  status: null,
  replyCode: null,
  hardBounce: false,
  reason: 'undefined',
  feedbackType: null,
  diagnostic: null,
  ...fields,
});

const replyCodeOf = (diagnostic: string | null): string | null => /(?:^|\D)([245]\d\d)(?:[ -]|$)/.exec(diagnostic ?? '')?.[1] ?? null;
const statusOf = (value: string | null): string | null => /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(value ?? '')?.[1] ?? null;

/** SES bounce subtypes -> the parser's reason names. */
const SES_REASONS: Record<string, string> = {
  NoEmail: 'userunknown',
  Suppressed: 'suppressed',
  OnAccountSuppressionList: 'suppressed',
  MailboxFull: 'mailboxfull',
  MessageTooLarge: 'mesgtoobig',
  ContentRejected: 'contenterror',
  AttachmentRejected: 'contenterror',
};

const webhooks = ({ strapi }: { strapi: Core.Strapi }) => {
  let httpGet: HttpGet = defaultHttpGet;
  const certificates = new Map<string, Promise<KeyObject>>();
  let sendgridKey: { source: string; key: KeyObject } | null = null;

  const config = () => getService(strapi, 'runtime').config().webhooks;
  const bounces = () => getService(strapi, 'bounces');

  const certificate = (url: string): Promise<KeyObject> => {
    const cached = certificates.get(url);
    if (cached) return cached;
    const loading = (async () => {
      let response: { status: number; body: string };
      try {
        response = await httpGet(url);
      } catch (error) {
        throw new WebhookError(503, `the SNS signing certificate could not be fetched: ${(error as Error).message}`);
      }
      if (response.status !== 200 || response.body.length > MAX_CERTIFICATE_BYTES) {
        throw new WebhookError(503, `the SNS signing certificate could not be fetched (HTTP ${response.status})`);
      }
      try {
        const cert = new X509Certificate(response.body);
        const now = Date.now();
        if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw new Error('expired or not yet valid');
        return cert.publicKey;
      } catch (error) {
        throw new WebhookError(403, `the SNS signing certificate is not usable: ${(error as Error).message}`);
      }
    })();
    certificates.set(url, loading);
    // A failed fetch is not kept; the cache stays small.
    loading.catch(() => certificates.delete(url));
    if (certificates.size > MAX_CACHED_CERTIFICATES) certificates.delete(certificates.keys().next().value!);
    return loading;
  };

  const verifySns = async (message: SnsMessage): Promise<void> => {
    const algorithm = message.SignatureVersion === '1' ? 'RSA-SHA1' : message.SignatureVersion === '2' ? 'RSA-SHA256' : null;
    if (!algorithm) throw new WebhookError(403, 'SignatureVersion: must be 1 or 2');
    if (!isSnsUrl(message.SigningCertURL) || !new URL(message.SigningCertURL).pathname.endsWith('.pem')) {
      throw new WebhookError(403, 'SigningCertURL: must be an https .pem URL on sns.<region>.amazonaws.com');
    }
    const key = await certificate(message.SigningCertURL);
    let valid = false;
    try {
      valid = createVerify(algorithm).update(snsStringToSign(message), 'utf8').verify(key, Buffer.from(message.Signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) throw new WebhookError(403, 'the SNS signature does not verify');
  };

  const snsMessageOf = (raw: string): SnsMessage => {
    const body = parseJson(raw);
    if (!isObject(body)) throw new WebhookError(400, 'body: must be an SNS message');
    const required = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const;
    for (const field of required) {
      if (typeof body[field] !== 'string') throw new WebhookError(400, `${field}: is required`);
    }
    for (const field of ['Subject', 'Token', 'SubscribeURL'] as const) {
      if (body[field] !== undefined && typeof body[field] !== 'string') throw new WebhookError(400, `${field}: must be a string`);
    }
    return body as unknown as SnsMessage;
  };

  /** An SES notification (the SNS Message) -> a parsed report and how to link it. */
  const sesReport = (notification: Record<string, unknown>): { parsed: ParsedBounce; options: Omit<ProcessOptions, 'source'> } | null => {
    const type = text(notification.notificationType) ?? text(notification.eventType);
    const mail = isObject(notification.mail) ? notification.mail : {};
    const headers: Record<string, string> = {};
    for (const header of Array.isArray(mail.headers) ? mail.headers.slice(0, 500) : []) {
      if (isObject(header) && typeof header.name === 'string' && typeof header.value === 'string') {
        headers[header.name.toLowerCase()] ??= header.value;
      }
    }
    const common = isObject(mail.commonHeaders) ? mail.commonHeaders : {};
    const options = {
      messageIds: [headers['x-multi-smtp-id'], headers['message-id'], text(common.messageId)].filter((value): value is string => !!value),
      envelopeRecipients: [text(mail.source)].filter((value): value is string => !!value),
    };
    if (type === 'Bounce' && isObject(notification.bounce)) {
      const bounce = notification.bounce;
      const permanent = bounce.bounceType === 'Permanent';
      const subType = text(bounce.bounceSubType) ?? 'General';
      const recipients = (Array.isArray(bounce.bouncedRecipients) ? bounce.bouncedRecipients.slice(0, 1000) : [])
        .filter(isObject)
        .filter((entry) => typeof entry.emailAddress === 'string')
        .map((entry) => {
          const diagnostic = text(entry.diagnosticCode);
          return recipientOf(entry.emailAddress as string, {
            status: statusOf(text(entry.status)) ?? statusOf(diagnostic),
            replyCode: replyCodeOf(diagnostic),
            hardBounce: permanent,
            reason: SES_REASONS[subType] ?? (permanent ? 'hardbounce' : 'undefined'),
            diagnostic: diagnostic ?? `SES ${String(bounce.bounceType)} bounce: ${subType}`,
          });
        });
      return { parsed: report('bounce', recipients), options: { ...options, dedupeId: text(bounce.feedbackId) ?? undefined } };
    }
    if (type === 'Complaint' && isObject(notification.complaint)) {
      const complaint = notification.complaint;
      const feedbackType = text(complaint.complaintFeedbackType) ?? 'abuse';
      const recipients = (Array.isArray(complaint.complainedRecipients) ? complaint.complainedRecipients.slice(0, 1000) : [])
        .filter(isObject)
        .filter((entry) => typeof entry.emailAddress === 'string')
        .map((entry) => recipientOf(entry.emailAddress as string, { reason: 'feedback', feedbackType }));
      return { parsed: report('complaint', recipients), options: { ...options, dedupeId: text(complaint.feedbackId) ?? undefined } };
    }
    return null;
  };

  const sendgridPublicKey = (): KeyObject | null => {
    const configured = config().sendgrid.publicKey;
    if (!configured) return null;
    if (sendgridKey?.source !== configured) {
      sendgridKey = { source: configured, key: parsePublicKey(configured) };
    }
    return sendgridKey.key;
  };

  /** A SendGrid event -> a parsed report, an unsubscribe, or nothing. */
  const sendgridReport = (event: Record<string, unknown>): { parsed: ParsedBounce } | { unsubscribe: true } | null => {
    const email = text(event.email);
    if (!email) return null;
    const name = text(event.event);
    const reasonText = text(event.reason);
    const status = statusOf(text(event.status)) ?? statusOf(reasonText);
    if (name === 'bounce') {
      const soft = event.type === 'blocked' || status?.startsWith('4') === true;
      return {
        parsed: report('bounce', [
          recipientOf(email, { status, replyCode: replyCodeOf(reasonText), hardBounce: !soft, reason: soft ? 'blocked' : 'hardbounce', diagnostic: reasonText }),
        ]),
      };
    }
    if (name === 'dropped') {
      if (/bounced address|invalid/i.test(reasonText ?? '')) {
        return { parsed: report('bounce', [recipientOf(email, { hardBounce: true, reason: 'suppressed', diagnostic: `SendGrid dropped: ${reasonText}` })]) };
      }
      if (/spam report/i.test(reasonText ?? '')) return { parsed: report('complaint', [recipientOf(email, { reason: 'feedback', feedbackType: 'abuse' })]) };
      if (/unsubscribe/i.test(reasonText ?? '')) return { unsubscribe: true };
      return null;
    }
    if (name === 'spamreport') return { parsed: report('complaint', [recipientOf(email, { reason: 'feedback', feedbackType: 'abuse' })]) };
    if (name === 'unsubscribe' || name === 'group_unsubscribe') return { unsubscribe: true };
    return null;
  };

  /**
   * Refuses a signed payload whose time is more than webhooks.maxAgeSeconds away from now. Checked
   * after the signature, so the time cannot have been altered; the 30-day dedupe covers the rest.
   */
  const checkFresh = (signedAt: number, what: string) => {
    const maxAgeMs = config().maxAgeSeconds * 1000;
    if (!Number.isFinite(signedAt)) throw new WebhookError(400, `${what}: is not a valid time`);
    const age = Date.now() - signedAt;
    if (age > maxAgeMs) throw new WebhookError(403, `${what}: the payload is ${Math.round(age / 1000)} s old, more than ${config().maxAgeSeconds} s (a replay?)`);
    if (age < -maxAgeMs) throw new WebhookError(403, `${what}: the payload is dated in the future`);
  };

  return {
    /** Tests only: fetch SNS certificates and SubscribeURLs with this instead of the network. */
    setHttpGet(get: HttpGet | null) {
      httpGet = get ?? defaultHttpGet;
      certificates.clear();
    },

    /** An SNS POST: verified, then confirmed, ignored or applied. Throws WebhookError (400/403/404/503). */
    async ses(raw: string): Promise<WebhookResult> {
      const { topicArns, autoConfirm } = config().ses;
      if (topicArns.length === 0) throw new WebhookError(404, 'Not Found');
      const message = snsMessageOf(raw);
      if (!topicArns.includes(message.TopicArn)) throw new WebhookError(403, 'TopicArn: is not one of the configured topics');
      await verifySns(message);
      checkFresh(Date.parse(message.Timestamp), 'Timestamp');

      if (message.Type === 'SubscriptionConfirmation') {
        if (autoConfirm && isSnsUrl(message.SubscribeURL)) {
          const response = await httpGet(message.SubscribeURL).catch((error: Error) => ({ status: 0, body: error.message }));
          if (response.status !== 200) throw new WebhookError(503, `confirming the subscription failed (HTTP ${response.status})`);
          strapi.log.info(`[multi-smtp] confirmed the SNS subscription to ${message.TopicArn}`);
          return { type: message.Type, confirmed: true, results: [] };
        }
        strapi.log.warn(
          `[multi-smtp] an SNS subscription to ${message.TopicArn} waits for confirmation: open its SubscribeURL, or set webhooks.ses.autoConfirm`
        );
        return { type: message.Type, confirmed: false, results: [] };
      }
      if (message.Type !== 'Notification') return { type: message.Type, results: [] };

      const notification = parseJson(message.Message, 'Message');
      if (!isObject(notification)) throw new WebhookError(400, 'Message: must be an SES notification');
      const found = sesReport(notification);
      if (!found) return { type: message.Type, results: [{ kind: 'ignored', event: text(notification.notificationType) ?? text(notification.eventType) ?? 'unknown' }] };
      const result = await bounces().process(found.parsed, { source: 'ses', ...found.options, dedupeId: found.options.dedupeId ?? message.MessageId });
      await bounces().settle([result]);
      return { type: message.Type, results: [result] };
    },

    /** A SendGrid event batch: verified, then each event applied. Throws WebhookError (400/403/404). */
    async sendgrid(raw: Buffer, signature: string | undefined, timestamp: string | undefined): Promise<WebhookResult> {
      let key: KeyObject | null;
      try {
        key = sendgridPublicKey();
      } catch {
        strapi.log.error('[multi-smtp] webhooks.sendgrid.publicKey is not a valid public key');
        key = null;
      }
      if (!key) throw new WebhookError(404, 'Not Found');
      if (!signature || !timestamp) throw new WebhookError(403, 'the signature headers are missing');
      let valid = false;
      try {
        valid = createVerify('sha256').update(Buffer.concat([Buffer.from(timestamp, 'utf8'), raw])).verify(key, Buffer.from(signature, 'base64'));
      } catch {
        valid = false;
      }
      if (!valid) throw new WebhookError(403, 'the signature does not verify');
      // SendGrid's timestamp header is Unix seconds.
      checkFresh(/^\d{1,12}$/.test(timestamp) ? Number(timestamp) * 1000 : Number.NaN, 'X-Twilio-Email-Event-Webhook-Timestamp');

      const events = parseJson(raw.toString('utf8'));
      if (!Array.isArray(events)) throw new WebhookError(400, 'body: must be an array of events');
      const results: WebhookResult['results'] = [];
      for (const event of events.slice(0, MAX_EVENTS)) {
        if (!isObject(event)) continue;
        const found = sendgridReport(event);
        const eventName = text(event.event) ?? 'unknown';
        if (!found) {
          results.push({ kind: 'ignored', event: eventName });
          continue;
        }
        const options = {
          source: 'sendgrid',
          messageIds: [text(event.multi_smtp_id), text(event['x-multi-smtp-id']), text(event.multiSmtpId), text(event['smtp-id'])].filter(
            (value): value is string => !!value
          ),
          dedupeId: text(event.sg_event_id) ?? undefined,
        };
        if ('unsubscribe' in found) {
          const outcome = await bounces().unsubscribe(text(event.email)!, options);
          results.push({ kind: 'unsubscribe', recipient: outcome.recipient, actions: outcome.actions });
        } else {
          results.push(await bounces().process(found.parsed, options));
        }
      }
      await bounces().settle(results.filter((result): result is BounceResult => 'linkedBy' in result));
      return { type: 'events', results };
    },
  };
};

export type WebhooksService = ReturnType<typeof webhooks>;
export default webhooks;
