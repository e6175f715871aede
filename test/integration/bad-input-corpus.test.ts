import { createSign, generateKeyPairSync } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import type Redis from 'ioredis';
import { generate as generateCertificate } from 'selfsigned';

import adminRoutes from '../../server/src/routes/admin';
import contentApiRoutes from '../../server/src/routes/content-api';
import { snsStringToSign, type HttpGet, type WebhooksService } from '../../server/src/services/webhooks';
import { cases, CORPUS_SEED, inboundNoise, type BadInputCase } from '../fixtures/bad-input/cases';
import { deleteKeys, testRedis } from '../helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep } from '../helpers/wait';

/**
 * The bad-input corpus (test/fixtures/bad-input/cases.ts) against one Strapi with every public
 * endpoint configured. Each request must be answered 4xx, naming the field where there is one;
 * none may be answered 5xx, stall the event loop for a second or more, or write anything: the rows
 * of every plugin content type and the keys under this run's Redis prefix are compared before and
 * after each request. Allowed: the per-IP rate-limit counters the public endpoints keep
 * (`<prefix>:ratelimit:...`), which count every request by design.
 */

const INBOUND_TOKEN = 'inbound-token-0123456789abcdef';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-feedback';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem';
const MAX_STALL_MS = 1000;

type SnsMessage = Parameters<typeof snsStringToSign>[0];

/**
 * Redis keys that may appear or go around a request: the public endpoints' rate-limit counters, and
 * the retention job's lock (taken by a timer a few seconds after boot, whatever the requests do).
 */
const ALLOWED_KEYS = [/:ratelimit:/, /:retention:lock$/];
/**
 * Also for an unlinked bounce read from inbound noise: its dedupe mark and soft-bounce count
 * (services/bounces.ts), and, once the statistics buffer flushes (a second later, so it shows only
 * over the whole corpus), the hourly statistics row that counts it.
 */
const NOISE_ALLOWED_KEYS = [/^redis key added: \S+:bounce:(seen|soft):/, /^plugin::multi-smtp\.stat-bucket: \d+ -> \d+ rows$/];

const makeSigner = () => {
  const pems = generateCertificate([{ name: 'commonName', value: 'sns.amazonaws.com' }], { keySize: 2048, algorithm: 'sha256', days: 7 });
  return { cert: pems.cert, privateKey: pems.private };
};

interface Outcome {
  kase: BadInputCase | { group: string; name: string; method: string; path: string };
  status: number;
  stallMs: number;
  problems: string[];
}

describe('bad-input corpus: every route refuses malformed requests with a 4xx, no 5xx, no stall, no write', () => {
  let app: TestStrapi;
  let redis: Redis;
  let apiToken: string;
  const ids: Record<string, string> = {};
  const signer = makeSigner();
  const stranger = makeSigner();
  const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const fetched: string[] = [];
  const outcomes: Outcome[] = [];
  const histogram = monitorEventLoopDelay({ resolution: 10 });

  const contentTypes = () => Object.keys(app.strapi.contentTypes).filter((uid) => uid.startsWith('plugin::multi-smtp.')).sort();

  const countRows = async () => {
    const counts: Record<string, number> = {};
    for (const uid of contentTypes()) counts[uid] = await app.strapi.db.query(uid as never).count();
    return counts;
  };

  /** Every key under the prefix with a fingerprint of its value (type and length), so changes show too. */
  const redisState = async () => {
    const state = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) state.set(key, '');
    } while (cursor !== '0');
    return state;
  };

  const allowedKey = (key: string) => ALLOWED_KEYS.some((pattern) => pattern.test(key));

  const diffRows = (before: Record<string, number>, after: Record<string, number>) =>
    Object.keys({ ...before, ...after })
      .filter((uid) => before[uid] !== after[uid])
      .map((uid) => `${uid}: ${before[uid]} -> ${after[uid]} rows`);

  const diffKeys = (before: Map<string, string>, after: Map<string, string>) => [
    ...[...after.keys()].filter((key) => !before.has(key) && !allowedKey(key)).map((key) => `redis key added: ${key}`),
    ...[...before.keys()].filter((key) => !after.has(key) && !allowedKey(key)).map((key) => `redis key removed: ${key}`),
  ];

  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (whole, name: string) => ids[name] ?? whole);

  const fillDeep = (value: unknown): unknown => {
    if (typeof value === 'string') return fill(value);
    if (Array.isArray(value)) return value.map(fillDeep);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fillDeep(inner)]));
    return value;
  };

  let snsCounter = 0;
  const snsBody = (kase: BadInputCase): string => {
    const sns = kase.sns!;
    const message: Record<string, string> = {
      Type: 'Notification',
      MessageId: `5f8e0c1a-0000-4000-8000-${String(++snsCounter).padStart(12, '0')}`,
      TopicArn: TOPIC,
      Message: JSON.stringify({ notificationType: 'Bounce', bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'gone@example.org' }] }, mail: { messageId: 'x' } }),
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: CERT_URL,
      ...sns.fields,
    };
    if (sns.signWith !== 'none') {
      const key = sns.signWith === 'configured' ? signer.privateKey : stranger.privateKey;
      message.Signature = createSign(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(snsStringToSign(message as unknown as SnsMessage), 'utf8').sign(key, 'base64');
    }
    const json = JSON.stringify(message);
    const truncate = (kase.body as { json?: { truncate?: number } } | undefined)?.json?.truncate;
    return truncate ? json.slice(0, Math.floor(json.length * truncate)) : json;
  };

  const bodyBytes = (kase: BadInputCase): string | Buffer | object | undefined => {
    if (kase.sns) return snsBody(kase);
    if (!kase.body) return undefined;
    if ('json' in kase.body) return fillDeep(kase.body.json) as object;
    if ('text' in kase.body) return kase.body.text;
    return Buffer.from(kase.body.base64, 'base64');
  };

  const send = (kase: BadInputCase) => {
    const url = `${kase.api === 'admin' ? '/multi-smtp' : '/api/multi-smtp'}${fill(kase.path)}`;
    const agent = app.http();
    let request =
      kase.method === 'GET'
        ? agent.get(url)
        : kase.method === 'HEAD'
          ? agent.head(url)
          : kase.method === 'POST'
            ? agent.post(url)
            : kase.method === 'PUT'
              ? agent.put(url)
              : agent.delete(url);
    const bearer = { admin: app.superAdminToken, apiToken, inbound: INBOUND_TOKEN, metrics: METRICS_TOKEN, none: null }[kase.auth];
    if (bearer) request = request.set('Authorization', `Bearer ${bearer}`);
    for (const [name, value] of Object.entries(kase.headers ?? {})) request = request.set(name, value);
    let body = bodyBytes(kase);
    if (kase.sendgridSign) {
      const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
      const now = Math.floor(Date.now() / 1000);
      const timestamp = { now: String(now), old: String(now - 86400), nan: 'NaN' }[kase.sendgridSign.timestamp ?? 'now'];
      const signature = createSign('sha256').update(Buffer.concat([Buffer.from(timestamp), raw])).sign(sendgridKeys.privateKey, 'base64');
      request = request.set('X-Twilio-Email-Event-Webhook-Signature', signature).set('X-Twilio-Email-Event-Webhook-Timestamp', timestamp);
      body = raw;
    }
    if (body === undefined) return request;
    // Bytes go as they are: superagent would serialise a Buffer with a JSON content type as JSON.
    if (Buffer.isBuffer(body)) request = request.serialize((value: unknown) => value as string);
    return request.send(body as never);
  };

  /** Runs one request, measuring the event loop and the writes around it. */
  const measure = async (kase: Outcome['kase'], run: () => Promise<{ status: number; body: unknown; text: string }>, allowed: RegExp[] = []) => {
    const rowsBefore = await countRows();
    const keysBefore = await redisState();
    histogram.reset();
    let response: { status: number; body: unknown; text: string };
    try {
      response = await run();
    } catch (error) {
      response = { status: 0, body: null, text: `request failed: ${(error as Error).message}` };
    }
    // The histogram records a stall when the timer after it fires.
    await sleep(25);
    const stallMs = histogram.max / 1e6;
    const problems = [...diffRows(rowsBefore, await countRows()), ...diffKeys(keysBefore, await redisState())].filter(
      (problem) => !allowed.some((pattern) => pattern.test(problem))
    );
    if (response.status >= 500 || response.status === 0) problems.push(`answered ${response.status}: ${response.text.slice(0, 300)}`);
    if (stallMs >= MAX_STALL_MS) problems.push(`stalled the event loop ${Math.round(stallMs)} ms`);
    return { response, stallMs, problems };
  };

  beforeAll(async () => {
    redis = testRedis();
    app = await startStrapi({
      pluginConfig: {
        publicUrl: 'https://shop.example',
        bounces: { inboundToken: INBOUND_TOKEN, verpDomain: 'bounces.shop.example', maxInboundBytes: 256 * 1024 },
        metrics: { token: METRICS_TOKEN },
        webhooks: {
          ses: { topicArns: [TOPIC], autoConfirm: false },
          sendgrid: { publicKey: sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
        },
        campaigns: { maxImportBytes: 64 * 1024 },
        tracking: { rateLimitPerMinute: 6000 },
      },
    });
    // No network: the SNS certificate is served from here.
    const httpGet: HttpGet = async (url) => {
      fetched.push(url);
      return url === CERT_URL ? { status: 200, body: signer.cert } : { status: 404, body: '' };
    };
    (app.strapi.plugin('multi-smtp').service('webhooks') as WebhooksService).setHttpGet(httpGet);
    apiToken = (await app.strapi.service('admin::api-token').create({ name: 'bad-input', type: 'full-access', lifespan: null, description: '' })).accessKey;

    // One of each entity, for the cases that need a real id.
    const api = asAdmin(app);
    const created = async (path: string, body: object) => {
      const response = await api.post(`/multi-smtp${path}`, body);
      if (response.status !== 201) throw new Error(`creating ${path}: ${response.status} ${response.text}`);
      return response.body.data.documentId as string;
    };
    ids.group = await created('/groups', { name: 'Corpus', slug: 'corpus' });
    ids.server = await created('/servers', { name: 'corpus-server', host: '127.0.0.1', port: 2, security: 'none', group: ids.group, fromAddress: 'news@shop.example' });
    ids.list = await created('/lists', { name: 'Corpus list' });
    ids.subscriber = await created('/subscribers', { email: 'corpus@example.com', lists: [ids.list] });
    ids.suppression = await created('/suppressions', { value: 'suppressed@example.com' });
    ids.brokenCampaign = await created('/campaigns', {
      name: 'Broken templates',
      subject: 'Hi {{ recipient.name',
      html: '<p>{% if recipient.name %}Hi</p>',
      text: "{% include '/etc/passwd' %}",
      fromAddress: 'news@shop.example',
      audience: { type: 'lists', lists: [ids.list] },
    });
    ids.campaign = await created('/campaigns', { name: 'Corpus campaign', subject: 'Hi {{ recipient.name }}', html: '<p>Hello</p>', fromAddress: 'news@shop.example', audience: { type: 'lists', lists: [ids.list] } });
    histogram.enable();
  });

  afterAll(async () => {
    histogram.disable();
    await app?.stop();
    if (app) await deleteKeys(redis, app.redisPrefix);
    redis?.disconnect();
  });

  it('has a case for every admin, content-API and public route', () => {
    const routes = [
      ...adminRoutes.routes.map((route) => ({ api: 'admin', method: route.method, path: route.path })),
      ...contentApiRoutes.routes.map((route) => ({ api: 'content', method: route.method, path: route.path })),
    ];
    const uncovered = routes.filter((route) => {
      const pattern = new RegExp(`^${route.path.replace(/:[a-zA-Z]+/g, '[^/?]+')}(\\?.*)?$`);
      return !cases.some((kase) => kase.api === route.api && (kase.method === route.method || (kase.method === 'HEAD' && route.method === 'GET')) && pattern.test(kase.path));
    });
    expect(uncovered).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it('answers every case 4xx (naming the field), never 5xx, without a stall or a write', async () => {
    const rowsAtStart = await countRows();
    const keysAtStart = await redisState();
    const failures: string[] = [];

    // BAD_INPUT_ONLY=<regex> runs only the cases whose group or name matches (for debugging one).
    const only = process.env.BAD_INPUT_ONLY ? new RegExp(process.env.BAD_INPUT_ONLY, 'i') : null;
    for (const kase of cases.filter((entry) => !only || only.test(`${entry.group} / ${entry.name}`))) {
      // The public endpoints count requests per IP; the corpus must not be cut short by its own count.
      await deleteKeys(redis, `${app.redisPrefix}:ratelimit:`);
      const { response, stallMs, problems } = await measure(kase, () => send(kase));
      const expected = kase.status === '4xx' ? response.status >= 400 && response.status < 500 : response.status === kase.status;
      if (!expected) problems.push(`answered ${response.status}, expected ${kase.status}: ${response.text.slice(0, 300)}`);
      if (kase.field && expected) {
        const body = response.body as { error?: { message?: string } } | null;
        const message = body?.error?.message ?? response.text;
        if (!message.includes(kase.field)) problems.push(`the message does not name ${kase.field}: ${message.slice(0, 300)}`);
      }
      outcomes.push({ kase, status: response.status, stallMs, problems });
      if (problems.length) failures.push(`${kase.group} / ${kase.name} (${kase.method} ${kase.path.slice(0, 80)}): ${problems.join('; ')}`);
    }

    // Truncated and random messages with the right inbound token. A body that is no bounce is
    // answered 200 with kind 'other' (or 'unparsed', 422 when nothing could be parsed), as
    // documented: the endpoint takes whatever an MTA pipes to it. A truncated DSN that still reads
    // as a bounce is a bounce for an address this site never mailed ('unlinked'): it is remembered
    // for deduplication and its soft bounce counted (NOISE_ALLOWED_KEYS), nothing else. None may
    // fail, stall, write a row, or suppress anyone.
    for (const noise of inboundNoise().filter((entry) => !only || only.test(`public inbound (noise) / ${entry.name}`))) {
      await deleteKeys(redis, `${app.redisPrefix}:ratelimit:`);
      const kase = { group: 'public inbound (noise)', name: noise.name, method: 'POST', path: '/inbound' };
      const { response, stallMs, problems } = await measure(
        kase,
        () => app.http().post('/api/multi-smtp/inbound').set('Authorization', `Bearer ${INBOUND_TOKEN}`).set('Content-Type', 'message/rfc822').send(noise.bytes),
        NOISE_ALLOWED_KEYS
      );
      if (![200, 400, 413, 422].includes(response.status)) problems.push(`answered ${response.status}: ${response.text.slice(0, 300)}`);
      type NoiseResult = { data?: { messages?: { kind: string; recipients: { actions: string[] }[] }[] } };
      for (const message of (response.body as NoiseResult | null)?.data?.messages ?? []) {
        for (const recipient of message.recipients) {
          const applied = recipient.actions.filter((action) => ['marked-bounced', 'suppressed', 'subscriber-updated'].includes(action));
          if (applied.length || (message.kind === 'bounce' && !recipient.actions.includes('unlinked'))) {
            problems.push(`applied ${recipient.actions.join(', ')}: ${response.text.slice(0, 300)}`);
          }
        }
      }
      outcomes.push({ kase, status: response.status, stallMs, problems });
      if (problems.length) failures.push(`${kase.group} / ${kase.name}: ${problems.join('; ')}`);
    }

    await deleteKeys(redis, `${app.redisPrefix}:ratelimit:`);
    const totalWrites = [...diffRows(rowsAtStart, await countRows()), ...diffKeys(keysAtStart, await redisState())].filter(
      (write) => !NOISE_ALLOWED_KEYS.some((pattern) => pattern.test(write))
    );
    const byGroup = new Map<string, number>();
    for (const outcome of outcomes) byGroup.set(outcome.kase.group, (byGroup.get(outcome.kase.group) ?? 0) + 1);
    const count = (test: (status: number) => boolean) => outcomes.filter((outcome) => test(outcome.status)).length;
    const worst = outcomes.reduce((max, outcome) => Math.max(max, outcome.stallMs), 0);
    const writes = outcomes.filter((outcome) => outcome.problems.some((problem) => /rows|redis key/.test(problem))).length + (totalWrites.length ? 1 : 0);
    console.log(
      [
        `bad-input corpus (seed ${CORPUS_SEED}): ${[...byGroup].map(([group, n]) => `${group} ${n}`).join(', ')}`,
        `bad-input corpus: ${outcomes.length} requests, 4xx ${count((s) => s >= 400 && s < 500)}, 2xx ${count((s) => s >= 200 && s < 300)} (inbound noise, documented), 5xx ${count((s) => s >= 500 || s === 0)}, writes ${writes}, worst event-loop stall ${Math.round(worst)} ms`,
        ...failures.map((failure) => `  FAIL ${failure}`),
        ...totalWrites.map((write) => `  WRITE over the whole corpus: ${write}`),
      ].join('\n')
    );
    expect(fetched.every((url) => url === CERT_URL)).toBe(true);
    expect(failures).toEqual([]);
    expect(totalWrites).toEqual([]);
  }, 600_000);
});
