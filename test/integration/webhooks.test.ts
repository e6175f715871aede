import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';

import type Redis from 'ioredis';
import { generate as generateCertificate } from 'selfsigned';

import type { HttpGet, WebhooksService } from '../../server/src/services/webhooks';
import { sendAndCapture, startWithSink } from '../helpers/bounce-messages';
import { createSubscriber } from '../helpers/campaigns';
import { deleteKeys, testRedis } from '../helpers/redis';
import { startSmtpServer, type CapturedMessage, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, type TestStrapi } from '../helpers/strapi';

type Mailer = { sendNow(message: object, options?: object): Promise<{ id: string; status: string }> };
type BounceResult = { kind: string; linkedBy: string | null; linkedMessageIds: string[]; recipients: { recipient: string; outcome: string; actions: string[] }[] };

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-feedback';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem';
const SUBSCRIBE_URL = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=abc`;

/** A certificate and key like the ones SNS signs with, made here: no network in tests. */
const makeSigner = () => {
  const pems = generateCertificate([{ name: 'commonName', value: 'sns.amazonaws.com' }], { keySize: 2048, algorithm: 'sha256', days: 7 });
  return { cert: pems.cert, privateKey: pems.private };
};

const stringToSign = (message: Record<string, string>) => {
  const fields =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', ...(message.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.map((field) => `${field}\n${message[field]}\n`).join('');
};

let snsCounter = 0;
/** An SNS HTTP POST body, signed the way SNS signs (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). */
const snsMessage = (
  privateKey: string,
  fields: { Type?: string; Message: string; Subject?: string; SubscribeURL?: string; Token?: string; TopicArn?: string },
  options: { version?: '1' | '2'; certUrl?: string; timestamp?: Date } = {}
) => {
  const version = options.version ?? '2';
  const message: Record<string, string> = {
    Type: fields.Type ?? 'Notification',
    MessageId: `5f8e0c1a-0000-4000-8000-${String(++snsCounter).padStart(12, '0')}`,
    TopicArn: fields.TopicArn ?? TOPIC,
    Message: fields.Message,
    Timestamp: (options.timestamp ?? new Date()).toISOString(),
    SignatureVersion: version,
    SigningCertURL: options.certUrl ?? CERT_URL,
    ...(fields.Subject !== undefined ? { Subject: fields.Subject } : {}),
    ...(fields.SubscribeURL !== undefined ? { SubscribeURL: fields.SubscribeURL, Token: fields.Token ?? 'token-1' } : {}),
  };
  message.Signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(stringToSign(message), 'utf8').sign(privateKey, 'base64');
  return message;
};

/** An SES notification about a message the sink received, with the original's headers as SES returns them. */
const sesNotification = (captured: CapturedMessage, body: Record<string, unknown>) =>
  JSON.stringify({
    ...body,
    mail: {
      timestamp: new Date().toISOString(),
      source: captured.from,
      messageId: '0100018f-ses-message-id',
      destination: captured.to,
      headersTruncated: false,
      headers: Object.entries(captured.headers).map(([name, value]) => ({ name: name === 'message-id' ? 'Message-ID' : name, value })),
      commonHeaders: { messageId: captured.headers['message-id'] },
    },
  });

/** A SendGrid event webhook request: ECDSA P-256 / SHA-256 over timestamp + body. */
const sendgridRequest = (privateKey: KeyObject, events: object[], timestamp = String(Math.floor(Date.now() / 1000))) => {
  const body = JSON.stringify(events);
  const signature = createSign('sha256').update(timestamp + body).sign(privateKey, 'base64');
  return { body, signature, timestamp };
};

describe('provider webhooks: Amazon SES through SNS and SendGrid events, signatures verified', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sink: TestSmtpServer;
  let redis: Redis;
  let mailer: Mailer;
  const signer = makeSigner();
  const stranger = makeSigner();
  const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const otherSendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const fetched: string[] = [];
  let certificateServed = signer.cert;

  const webhooks = () => app.strapi.plugin('multi-smtp').service('webhooks') as WebhooksService;

  const sendTo = (email: string) => sendAndCapture(mailer, sink, email);

  const postSes = (message: object | string) =>
    app
      .http()
      .post('/api/multi-smtp/webhooks/ses')
      // SNS posts JSON as text/plain.
      .set('Content-Type', 'text/plain; charset=UTF-8')
      .set('x-amz-sns-message-type', typeof message === 'string' ? 'Notification' : String((message as { Type: string }).Type))
      .send(typeof message === 'string' ? message : JSON.stringify(message));

  const postSendgrid = (request: { body: string; signature?: string; timestamp?: string }) => {
    const call = app.http().post('/api/multi-smtp/webhooks/sendgrid').set('Content-Type', 'application/json');
    if (request.signature !== undefined) call.set('X-Twilio-Email-Event-Webhook-Signature', request.signature);
    if (request.timestamp !== undefined) call.set('X-Twilio-Email-Event-Webhook-Timestamp', request.timestamp);
    return call.send(request.body);
  };

  const logStatus = async (id: string) => (await api.get(`/multi-smtp/messages/${id}`)).body.data.status as string;
  const suppressionsOf = async (email: string) =>
    ((await api.get(`/multi-smtp/suppressions?q=${encodeURIComponent(email)}`)).body.data as { value: string; reason: string; source: string }[]).filter(
      (suppression) => suppression.value === email
    );
  const totalSuppressions = async () => (await api.get('/multi-smtp/suppressions')).body.meta.pagination.total as number;
  const subscriberStatus = async (id: string) => (await api.get(`/multi-smtp/subscribers/${id}`)).body.data.status as string;

  beforeAll(async () => {
    redis = testRedis();
    sink = await startSmtpServer();
    app = await startWithSink(sink, {
      webhooks: {
        ses: { topicArns: [TOPIC], autoConfirm: true },
        sendgrid: { publicKey: sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
      },
    });
    api = asAdmin(app);
    mailer = app.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    const httpGet: HttpGet = async (url) => {
      fetched.push(url);
      if (url === CERT_URL) return { status: 200, body: certificateServed };
      if (url.startsWith('https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription')) return { status: 200, body: '<ConfirmSubscriptionResponse/>' };
      return { status: 404, body: '' };
    };
    webhooks().setHttpGet(httpGet);
  });
  afterAll(async () => {
    await app?.stop();
    if (app) await deleteKeys(redis, app.redisPrefix);
    await sink?.close();
    redis.disconnect();
  });
  beforeEach(async () => {
    await deleteKeys(redis, `${app.redisPrefix}:ratelimit:`);
    certificateServed = signer.cert;
  });

  it('the inbound endpoint answers 404 while no inbound token is configured', async () => {
    const response = await app.http().post('/api/multi-smtp/inbound').set('Authorization', 'Bearer anything-at-all-12345').type('message/rfc822').send('Subject: x\n\nx');
    expect(response.status).toBe(404);
  });

  describe('Amazon SES via SNS', () => {
    it('a Permanent bounce (SignatureVersion 2) marks the message bounced and suppresses the recipient; the certificate is fetched once', async () => {
      const email = 'ses-gone@example.org';
      const subscriber = await createSubscriber(api, { email });
      const { id, captured } = await sendTo(email);
      const message = snsMessage(signer.privateKey, {
        Message: sesNotification(captured, {
          notificationType: 'Bounce',
          bounce: {
            bounceType: 'Permanent',
            bounceSubType: 'General',
            feedbackId: `fb-${id}`,
            bouncedRecipients: [{ emailAddress: email, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
          },
        }),
      });
      const response = await postSes(message);
      expect(response.status).toBe(200);
      const [result] = response.body.data.results as BounceResult[];
      expect(result).toMatchObject({ kind: 'bounce', linkedMessageIds: [id] });
      expect(result!.recipients).toEqual([expect.objectContaining({ recipient: email, outcome: 'hard', actions: ['marked-bounced', 'suppressed', 'subscriber-updated'] })]);
      expect(await logStatus(id)).toBe('bounced');
      expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${id}` })]);
      expect(await subscriberStatus(subscriber.documentId)).toBe('bounced');

      // SNS delivers again: counted once; the certificate comes from the cache.
      const again = await postSes(message);
      expect(again.status).toBe(200);
      expect((again.body.data.results as BounceResult[])[0]!.recipients[0]!.actions).toEqual(['duplicate']);
      expect(fetched.filter((url) => url === CERT_URL)).toHaveLength(1);
    });

    it('a complaint (SignatureVersion 1) suppresses the recipient as a complaint', async () => {
      const email = 'ses-angry@example.org';
      const { id, captured } = await sendTo(email);
      const message = snsMessage(
        signer.privateKey,
        {
          Message: sesNotification(captured, {
            notificationType: 'Complaint',
            complaint: { feedbackId: `c-${id}`, complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: email }] },
          }),
          Subject: 'Amazon SES Complaint',
        },
        { version: '1' }
      );
      const response = await postSes(message);
      expect(response.status).toBe(200);
      expect((response.body.data.results as BounceResult[])[0]).toMatchObject({ kind: 'complaint', linkedMessageIds: [id] });
      expect(await suppressionsOf(email)).toEqual([expect.objectContaining({ reason: 'complaint', source: `message:${id}` })]);
      expect(await logStatus(id)).toBe('sent');
    });

    it('a Transient bounce is a soft bounce (counted, not suppressed); a Delivery is ignored', async () => {
      const email = 'ses-full@example.org';
      const { id, captured } = await sendTo(email);
      const soft = await postSes(
        snsMessage(signer.privateKey, {
          Message: sesNotification(captured, {
            notificationType: 'Bounce',
            bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', feedbackId: `t-${id}`, bouncedRecipients: [{ emailAddress: email, status: '4.2.2' }] },
          }),
        })
      );
      expect(soft.status).toBe(200);
      expect((soft.body.data.results as BounceResult[])[0]!.recipients[0]).toMatchObject({ outcome: 'soft', actions: ['soft-counted'] });
      expect(await suppressionsOf(email)).toEqual([]);
      expect(await logStatus(id)).toBe('sent');

      const delivery = await postSes(
        snsMessage(signer.privateKey, { Message: sesNotification(captured, { notificationType: 'Delivery', delivery: { recipients: [email] } }) })
      );
      expect(delivery.status).toBe(200);
      expect(delivery.body.data.results).toEqual([{ kind: 'ignored', event: 'Delivery' }]);
    });

    it('forged messages get 403 and record nothing: altered text, another key, a foreign certificate URL, an unlisted topic, an unknown signature version', async () => {
      const email = 'ses-forged@example.org';
      const { captured } = await sendTo(email);
      const notification = sesNotification(captured, {
        notificationType: 'Bounce',
        bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: email, status: '5.1.1' }] },
      });
      const before = await totalSuppressions();
      const fetchesBefore = fetched.length;

      const altered = snsMessage(signer.privateKey, { Message: notification });
      altered.Message = altered.Message!.replace('ses-forged', 'someone-else');
      const otherKey = snsMessage(stranger.privateKey, { Message: notification });
      const forgedUrls = [
        'http://sns.eu-west-1.amazonaws.com/cert.pem',
        'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem',
        'https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem',
        'https://s3.amazonaws.com/cert.pem',
        'https://sns.eu-west-1.amazonaws.com/cert.txt',
      ].map((certUrl) => snsMessage(signer.privateKey, { Message: notification }, { certUrl }));
      const unlisted = snsMessage(signer.privateKey, { Message: notification, TopicArn: 'arn:aws:sns:eu-west-1:999999999999:someone-elses-topic' });
      const badVersion = { ...snsMessage(signer.privateKey, { Message: notification }), SignatureVersion: '3' };
      // Properly signed, but captured and replayed later (or dated ahead): older than webhooks.maxAgeSeconds.
      const replayed = snsMessage(signer.privateKey, { Message: notification }, { timestamp: new Date(Date.now() - 11 * 60_000) });
      const future = snsMessage(signer.privateKey, { Message: notification }, { timestamp: new Date(Date.now() + 11 * 60_000) });

      for (const message of [altered, otherKey, ...forgedUrls, unlisted, badVersion, replayed, future]) {
        const response = await postSes(message);
        expect(response.status).toBe(403);
      }
      // The foreign URLs were never fetched.
      expect(fetched.slice(fetchesBefore).filter((url) => url !== CERT_URL)).toEqual([]);
      expect(await totalSuppressions()).toBe(before);
      expect(await suppressionsOf(email)).toEqual([]);

      // Not an SNS message at all.
      expect((await postSes('not json')).status).toBe(400);
      expect((await postSes({ Type: 'Notification' })).status).toBe(400);
    });

    it('confirms a subscription of a listed topic by fetching its SubscribeURL, and only an SNS one', async () => {
      const confirm = await postSes(
        snsMessage(signer.privateKey, { Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe...', SubscribeURL: SUBSCRIBE_URL })
      );
      expect(confirm.status).toBe(200);
      expect(confirm.body.data).toMatchObject({ type: 'SubscriptionConfirmation', confirmed: true });
      expect(fetched).toContain(SUBSCRIBE_URL);

      const foreign = 'https://evil.example/?Action=ConfirmSubscription';
      const refused = await postSes(snsMessage(signer.privateKey, { Type: 'SubscriptionConfirmation', Message: 'x', SubscribeURL: foreign }));
      expect(refused.status).toBe(200);
      expect(refused.body.data).toMatchObject({ confirmed: false });
      expect(fetched).not.toContain(foreign);

      // A forged confirmation fetches nothing.
      const forged = snsMessage(stranger.privateKey, { Type: 'SubscriptionConfirmation', Message: 'x', SubscribeURL: `${SUBSCRIBE_URL}&forged=1` });
      expect((await postSes(forged)).status).toBe(403);
      expect(fetched).not.toContain(`${SUBSCRIBE_URL}&forged=1`);
    });
  });

  describe('SendGrid event webhook', () => {
    it('bounce, blocked, dropped, spam report and unsubscribe events, linked by custom arg or smtp-id', async () => {
      const hard = await sendTo('sg-gone@example.org');
      const blocked = await sendTo('sg-blocked@example.org');
      const spam = await sendTo('sg-spam@example.org');
      const leaver = await createSubscriber(api, { email: 'sg-leaver@example.org' });
      const dropped = await sendTo('sg-dropped@example.org');
      const events = [
        { email: 'sg-gone@example.org', event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 5.1.1 The email account does not exist', sg_event_id: 'e1', multi_smtp_id: hard.id },
        { email: 'sg-blocked@example.org', event: 'bounce', type: 'blocked', status: '4.7.1', reason: '421 4.7.1 Try again later', sg_event_id: 'e2', 'smtp-id': blocked.captured.headers['message-id'] },
        { email: 'sg-spam@example.org', event: 'spamreport', sg_event_id: 'e3', 'smtp-id': spam.captured.headers['message-id'] },
        { email: 'sg-leaver@example.org', event: 'unsubscribe', sg_event_id: 'e4' },
        { email: 'sg-dropped@example.org', event: 'dropped', reason: 'Bounced Address', sg_event_id: 'e5', multi_smtp_id: dropped.id },
        { email: 'sg-ok@example.org', event: 'delivered', sg_event_id: 'e6' },
      ];
      const response = await postSendgrid(sendgridRequest(sendgridKeys.privateKey, events));
      expect(response.status).toBe(200);
      const results = response.body.data.results as Array<BounceResult & { event?: string; actions: string[] }>;
      expect(results.map((result) => result.kind)).toEqual(['bounce', 'bounce', 'complaint', 'unsubscribe', 'bounce', 'ignored']);
      expect(results[0]).toMatchObject({ linkedMessageIds: [hard.id] });
      expect(results[0]!.recipients[0]).toMatchObject({ outcome: 'hard' });
      expect(results[1]).toMatchObject({ linkedMessageIds: [blocked.id] });
      expect(results[1]!.recipients[0]).toMatchObject({ outcome: 'soft', actions: ['soft-counted'] });
      expect(results[2]).toMatchObject({ linkedMessageIds: [spam.id] });

      expect(await logStatus(hard.id)).toBe('bounced');
      expect(await suppressionsOf('sg-gone@example.org')).toEqual([expect.objectContaining({ reason: 'hard-bounce', source: `message:${hard.id}` })]);
      expect(await suppressionsOf('sg-blocked@example.org')).toEqual([]);
      expect(await suppressionsOf('sg-spam@example.org')).toEqual([expect.objectContaining({ reason: 'complaint' })]);
      expect(await suppressionsOf('sg-leaver@example.org')).toEqual([expect.objectContaining({ reason: 'unsubscribed' })]);
      expect(await subscriberStatus(leaver.documentId)).toBe('unsubscribed');
      expect(await suppressionsOf('sg-dropped@example.org')).toEqual([expect.objectContaining({ reason: 'hard-bounce' })]);

      // The same batch delivered again counts once.
      const again = await postSendgrid(sendgridRequest(sendgridKeys.privateKey, events));
      expect(again.status).toBe(200);
      const repeated = again.body.data.results as Array<BounceResult & { actions: string[] }>;
      expect(repeated[0]!.recipients[0]!.actions).toEqual(['duplicate']);
      expect(repeated[3]!.actions).toEqual(['duplicate']);
    });

    it('forged requests get 403 and record nothing: altered body, another key, a changed timestamp, missing headers', async () => {
      const events = [{ email: 'sg-forged@example.org', event: 'bounce', type: 'bounce', status: '5.1.1', sg_event_id: 'f1' }];
      const signed = sendgridRequest(sendgridKeys.privateKey, events);
      const before = await totalSuppressions();
      const forgeries = [
        { ...signed, body: signed.body.replace('sg-forged', 'sg-victim') },
        sendgridRequest(otherSendgridKeys.privateKey, events),
        { ...signed, timestamp: String(Number(signed.timestamp) + 1) },
        { body: signed.body },
        { body: signed.body, signature: signed.signature },
        { ...signed, signature: 'bm90IGEgc2lnbmF0dXJl' },
        // Validly signed, but eleven minutes old: a replay.
        sendgridRequest(sendgridKeys.privateKey, events, String(Math.floor(Date.now() / 1000) - 11 * 60)),
      ];
      for (const forgery of forgeries) expect((await postSendgrid(forgery)).status).toBe(403);
      expect(await totalSuppressions()).toBe(before);

      // Signed, but not an event batch.
      expect((await postSendgrid(sendgridRequest(sendgridKeys.privateKey, { not: 'an array' } as unknown as object[]))).status).toBe(400);
    });
  });
});
