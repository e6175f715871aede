import { parse } from 'csv-parse/sync';
import type Redis from 'ioredis';

import type { CampaignReport, StatCounts } from '../../shared/contracts/reports';
import { createTrackingTokens, TRACKING_PIXEL } from '../../server/src/engine/tracking';
import type { MessageLogService } from '../../server/src/services/message-log';
import type { StatsService } from '../../server/src/services/stats';
import type { TrackingService } from '../../server/src/services/tracking';
import { createCampaign, createList, createSubscriber, readyCampaign } from '../helpers/campaigns';
import { campaignAction, groupWithSink, waitForCampaignStatus } from '../helpers/campaign-sending';
import { deleteKeys, testRedis } from '../helpers/redis';
import { startSmtpServer, type CapturedMessage, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep } from '../helpers/wait';

const PUBLIC_URL = 'https://news.example.test';
const PERSON =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const SALE_URL = 'https://shop.example/sale?item=42&ref=mail';
const postUrl = (slug: string) => `https://blog.example/posts/${slug}`;
const HOUR = 3_600_000;

/** What one recipient's message carries: its id, pixel and tracked links (paths under the site). */
interface TrackedMail {
  email: string;
  messageId: string;
  pixel: string;
  sale: string;
  post: string;
  message: CapturedMessage;
}

/**
 * Open and click tracking end to end: a campaign with tracking on goes through a real SMTP sink,
 * and the pixel and link URLs are taken out of the HTML each recipient received.
 */
describe('open and click tracking', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;
  let sink: TestSmtpServer;
  let campaignId: string;
  let untrackedId: string;
  let mails: TrackedMail[];
  let startedAt: number;

  const service = <T>(name: string) => app.strapi.plugin('multi-smtp').service(name) as T;
  const tracking = () => service<TrackingService>('tracking');
  const flushAll = async () => {
    await tracking().flush();
    await service<MessageLogService>('messageLog').flush();
    await service<StatsService>('stats').flush();
  };
  const pathOf = (url: string) => {
    expect(url.startsWith(PUBLIC_URL)).toBe(true);
    return url.slice(PUBLIC_URL.length);
  };
  const report = async (): Promise<CampaignReport> => {
    await flushAll();
    const range = `from=${new Date(startedAt - HOUR).toISOString()}&to=${new Date(Date.now() + HOUR).toISOString()}`;
    const response = await api.get(`/multi-smtp/reports/campaigns/${campaignId}?${range}`);
    expect(response.status).toBe(200);
    return response.body.data as CampaignReport;
  };
  const trackingCounts = (counts: StatCounts) => ({
    openHuman: counts.openHuman,
    openHumanUnique: counts.openHumanUnique,
    openMachine: counts.openMachine,
    click: counts.click,
    clickUnique: counts.clickUnique,
  });
  const eventsOf = async (messageId: string) => {
    await tracking().flush();
    return tracking().eventsOf(messageId);
  };
  const totalEvents = async () => {
    await tracking().flush();
    return app.strapi.db.query('plugin::multi-smtp.tracking-event').count({});
  };
  const open = (mail: TrackedMail, agent: string | null = PERSON) => {
    const request = app.http().get(mail.pixel);
    return agent === null ? request : request.set('User-Agent', agent);
  };
  const click = (path: string, agent = PERSON) => app.http().get(path).set('User-Agent', agent).redirects(0);

  beforeAll(async () => {
    startedAt = Date.now();
    redis = testRedis();
    sink = await startSmtpServer();
    app = await startStrapi({ pluginConfig: { publicUrl: PUBLIC_URL, worker: { enabled: true, concurrency: 2 } } });
    api = asAdmin(app);
    const group = await groupWithSink(api, sink, 'tracked');
    const list = (await createList(api, 'Readers')).documentId;
    for (const [index, slug] of ['spring', 'summer', 'autumn'].entries()) {
      await createSubscriber(api, {
        email: `reader${index}@example.com`,
        name: `Reader ${index}`,
        lists: [list],
        attributes: { slug },
      });
    }
    const html = `<html><body><p>Hi {{ recipient.name }}</p>
<p><a href="https://shop.example/sale?item=42&amp;ref=mail">Sale</a> <a class="post" href='https://blog.example/posts/{{ recipient.attributes.slug }}'>Read</a></p>
<p><a href="mailto:help@example.com">Help</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>`;
    campaignId = (
      await createCampaign(
        api,
        readyCampaign([list], {
          name: 'Tracked',
          group,
          html,
          text: 'Sale: https://shop.example/sale',
          trackOpens: true,
          trackClicks: true,
        })
      )
    ).documentId;
    untrackedId = (await createCampaign(api, readyCampaign([list], { name: 'Untracked', group, html }))).documentId;
    for (const id of [campaignId, untrackedId]) {
      await campaignAction(api, id, 'start');
      await waitForCampaignStatus(api, id, 'completed');
    }

    const tokenUrl = (message: CapturedMessage, pattern: RegExp) => {
      const found = message.html?.match(pattern);
      if (!found) throw new Error(`no ${pattern} in ${message.html}`);
      return pathOf(found[1]!);
    };
    mails = sink.messages
      .filter((message) => message.headers['x-campaign-id'] === campaignId)
      .map((message) => ({
        email: message.to[0]!,
        messageId: message.headers['x-multi-smtp-id']!,
        pixel: tokenUrl(message, /<img src="([^"]+\/track\/open\/[A-Za-z0-9_-]+\.gif)"/),
        sale: tokenUrl(message, /<a href="([^"]+\/track\/click\/[A-Za-z0-9_-]+)">Sale/),
        post: tokenUrl(message, /<a class="post" href="([^"]+\/track\/click\/[A-Za-z0-9_-]+)">Read/),
        message,
      }))
      .sort((a, b) => a.email.localeCompare(b.email));
    // People do not open within 2 s of delivery (engine/tracking.ts counts that as a machine).
    await sleep(2100);
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    await sink?.close();
    if (app) await deleteKeys(redis, app.redisPrefix);
    redis?.disconnect();
  });
  // Each test starts with a fresh rate-limit window for 127.0.0.1.
  beforeEach(() => deleteKeys(redis, `${app.redisPrefix}:ratelimit:`));

  it("rewrites each recipient's web links to signed redirects naming its own message, adds a pixel, and leaves the rest alone", () => {
    expect(mails.map((mail) => mail.email)).toEqual([
      'reader0@example.com',
      'reader1@example.com',
      'reader2@example.com',
    ]);
    const tokens = (
      app.strapi.plugin('multi-smtp').service('runtime') as {
        trackingTokens(): ReturnType<typeof createTrackingTokens>;
      }
    ).trackingTokens();
    const tokenOf = (path: string) =>
      tokens.verify(
        path
          .split('/')
          .pop()!
          .replace(/\.gif$/, '')
      );
    for (const [index, mail] of mails.entries()) {
      expect(mail.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(tokenOf(mail.pixel)).toEqual({ kind: 'open', messageId: mail.messageId });
      expect(tokenOf(mail.sale)).toEqual({ kind: 'click', messageId: mail.messageId, url: SALE_URL });
      expect(tokenOf(mail.post)).toEqual({
        kind: 'click',
        messageId: mail.messageId,
        url: postUrl(['spring', 'summer', 'autumn'][index]!),
      });
      const html = mail.message.html!;
      // The unsubscribe link (and List-Unsubscribe) work without a redirect; mailto: is not a web link.
      expect(html).toMatch(
        /<a href="https:\/\/news\.example\.test\/api\/multi-smtp\/unsubscribe\/[A-Za-z0-9_-]+">Unsubscribe/
      );
      expect(html).toContain('<a href="mailto:help@example.com">Help');
      expect(html).not.toContain('shop.example');
      expect(html).toMatch(/\.gif" width="1" height="1" alt=""[^>]*\/><\/body>/);
      expect(mail.message.text).toContain('https://shop.example/sale');
    }
    // A campaign without tracking is sent as written.
    const untracked = sink.messages.filter((message) => message.headers['x-campaign-id'] === untrackedId);
    expect(untracked).toHaveLength(3);
    for (const message of untracked) {
      expect(message.html).not.toContain('/track/');
      expect(message.html).toContain('href="https://shop.example/sale?item=42&amp;ref=mail"');
    }
  });

  it('an open answers the 1x1 GIF, never cached, and is recorded: opening twice counts 2 opens, 1 unique', async () => {
    const [mail] = mails;
    for (let i = 0; i < 2; i += 1) {
      const response = await open(mail!);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('image/gif');
      expect(response.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, max-age=0');
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(Buffer.compare(response.body as Buffer, TRACKING_PIXEL)).toBe(0);
    }
    const events = await eventsOf(mail!.messageId);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'open',
        machine: false,
        machineReason: null,
        campaignId,
        url: null,
        userAgent: PERSON,
      }),
      expect.objectContaining({ kind: 'open', machine: false, campaignId }),
    ]);
    // The server and group of the delivery log row; the IP only as a keyed hash.
    const logged = await service<MessageLogService>('messageLog').get(mail!.messageId);
    expect(events[0]).toEqual(expect.objectContaining({ serverId: logged!.serverId, groupSlug: 'tracked' }));
    expect(events[0]!.ipHash).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(events[1]!.ipHash).toBe(events[0]!.ipHash);
    expect(JSON.stringify(events)).not.toMatch(/127\.0\.0\.1|::1|::ffff/);

    expect(trackingCounts((await report()).totals)).toEqual({
      openHuman: 2,
      openHumanUnique: 1,
      openMachine: 0,
      click: 0,
      clickUnique: 0,
    });
  });

  it('a click redirects (302) to the URL in the message and is recorded; unique per message and link', async () => {
    const [first, second] = mails;
    const response = await click(first!.sale);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(SALE_URL);
    expect(response.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, max-age=0');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect((await click(first!.sale)).headers.location).toBe(SALE_URL);
    expect((await click(first!.post)).headers.location).toBe(postUrl('spring'));
    expect((await click(second!.sale)).headers.location).toBe(SALE_URL);

    expect((await eventsOf(first!.messageId)).filter((event) => event.kind === 'click')).toEqual([
      expect.objectContaining({ kind: 'click', url: SALE_URL, machine: false, campaignId }),
      expect.objectContaining({ kind: 'click', url: SALE_URL, machine: false }),
      expect.objectContaining({ kind: 'click', url: postUrl('spring'), machine: false }),
    ]);
    const after = await report();
    expect(trackingCounts(after.totals)).toEqual({
      openHuman: 2,
      openHumanUnique: 1,
      openMachine: 0,
      click: 4,
      clickUnique: 3,
    });
    expect(after.funnel).toEqual(
      expect.objectContaining({ recipients: 3, accepted: 3, opensUnique: 1, clicksUnique: 3 })
    );
    expect(after.topLinks).toEqual([
      { url: SALE_URL, clicks: 3, uniqueClicks: 2 },
      { url: postUrl('spring'), clicks: 1, uniqueClicks: 1 },
    ]);
    // The same per server: the campaign's split and the server's own report.
    expect(after.servers).toHaveLength(1);
    expect(trackingCounts(after.servers[0]!.totals)).toEqual(trackingCounts(after.totals));
    const serverReport = await api.get(`/multi-smtp/reports/servers/${after.servers[0]!.serverId}`);
    expect(serverReport.body.data.server.totals).toEqual(
      expect.objectContaining({ openHuman: 2, click: 4, clickUnique: 3 })
    );
    // And as CSV.
    const csv = await api.get(`/multi-smtp/reports/campaigns/${campaignId}?format=csv&table=topLinks`);
    expect(csv.status).toBe(200);
    expect(parse(csv.text, { columns: true, bom: true })).toEqual([
      { url: SALE_URL, clicks: '3', uniqueClicks: '2' },
      { url: postUrl('spring'), clicks: '1', uniqueClicks: '1' },
    ]);
  });

  it('answers before the recording: redirect latency over 100 clicks (printed)', async () => {
    const mail = mails[1]!;
    const before = (await report()).totals;
    const times: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const started = process.hrtime.bigint();
      const response = await click(mail.post);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      expect(response.status).toBe(302);
    }
    times.sort((a, b) => a - b);
    const p50Ms = Math.round(times[49]! * 10) / 10;
    const p95Ms = Math.round(times[94]! * 10) / 10;
    console.log(JSON.stringify({ clicks: 100, redirectP50Ms: p50Ms, redirectP95Ms: p95Ms }));
    const after = (await report()).totals;
    // All recorded, one of them a first click of this message and link.
    expect([after.click - before.click, after.clickUnique - before.clickUnique]).toEqual([100, 1]);
    expect(p95Ms).toBeLessThan(250);
  });

  it('refuses forged, altered, truncated, foreign and wrong-kind tokens with 404 and records nothing', async () => {
    const [mail] = mails;
    const before = { events: await totalEvents(), counts: trackingCounts((await report()).totals) };
    const saleToken = mail!.sale.split('/').pop()!;
    const pixelToken = mail!.pixel
      .split('/')
      .pop()!
      .replace(/\.gif$/, '');
    const flip = (token: string, at: number) =>
      `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    const foreign = createTrackingTokens(Buffer.alloc(32, 9));
    const bad = [
      `/api/multi-smtp/track/click/${flip(saleToken, 5)}`,
      `/api/multi-smtp/track/click/${flip(saleToken, saleToken.length - 3)}`,
      `/api/multi-smtp/track/click/${saleToken.slice(0, -2)}`,
      `/api/multi-smtp/track/click/${foreign.click(mail!.messageId, SALE_URL)}`,
      `/api/multi-smtp/track/click/${pixelToken}`,
      '/api/multi-smtp/track/click/not-a-token',
      `/api/multi-smtp/track/click/${'x'.repeat(5000)}`,
      `/api/multi-smtp/track/open/${flip(pixelToken, 8)}.gif`,
      `/api/multi-smtp/track/open/${foreign.open(mail!.messageId)}.gif`,
      `/api/multi-smtp/track/open/${saleToken}.gif`,
      '/api/multi-smtp/track/open/.gif',
    ];
    for (const path of bad) {
      const response = await app.http().get(path).set('User-Agent', PERSON).redirects(0);
      expect([path.slice(0, 60), response.status]).toEqual([path.slice(0, 60), 404]);
      expect(response.headers.location).toBeUndefined();
    }
    expect(await totalEvents()).toBe(before.events);
    expect(trackingCounts((await report()).totals)).toEqual(before.counts);
  });

  it('a click to a URL that was not in the message cannot be made: changing the URL or the message in a token gives 404', async () => {
    const [first, second] = mails;
    const before = await totalEvents();
    const bytes = Buffer.from(first!.sale.split('/').pop()!, 'base64url');
    const header = bytes.subarray(0, 18);
    const mac = bytes.subarray(bytes.length - 16);
    // Another URL under the same MAC (an open redirect would follow it).
    const otherUrl = Buffer.concat([header, Buffer.from('https://evil.example/phish', 'utf8'), mac]).toString(
      'base64url'
    );
    // The same URL and MAC with another message's id.
    const otherMessage = Buffer.concat([
      header.subarray(0, 2),
      Buffer.from(second!.messageId.replace(/-/g, ''), 'hex'),
      bytes.subarray(18, bytes.length - 16),
      mac,
    ]).toString('base64url');
    for (const token of [otherUrl, otherMessage]) {
      const response = await click(`/api/multi-smtp/track/click/${token}`);
      expect(response.status).toBe(404);
      expect(response.headers.location).toBeUndefined();
    }
    expect(await totalEvents()).toBe(before);
  });

  it('HEAD requests, scanners and Apple Mail Privacy Protection are recorded as machine events, not human opens or clicks', async () => {
    const mail = mails[2]!;
    const before = trackingCounts((await report()).totals);

    const head = await app.http().head(mail.sale).set('User-Agent', PERSON).redirects(0);
    expect(head.status).toBe(302);
    expect(head.headers.location).toBe(SALE_URL);
    const scannerClick = await click(mail.post, 'python-requests/2.31');
    expect(scannerClick.status).toBe(302);
    expect(scannerClick.headers.location).toBe(postUrl('autumn'));
    expect((await app.http().head(mail.pixel).set('User-Agent', PERSON)).status).toBe(200);
    expect((await open(mail, 'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))')).status).toBe(200);
    expect((await open(mail, 'Mozilla/5.0')).status).toBe(200);
    expect((await open(mail, null)).status).toBe(200);

    const events = await eventsOf(mail.messageId);
    expect(events.map((event) => [event.kind, event.machine, event.machineReason])).toEqual([
      ['click', true, 'head-request'],
      ['click', true, 'scanner'],
      ['open', true, 'head-request'],
      ['open', true, 'scanner'],
      ['open', true, 'apple-mail-privacy'],
      ['open', true, 'no-user-agent'],
    ]);
    expect(trackingCounts((await report()).totals)).toEqual({ ...before, openMachine: before.openMachine + 4 });
    // Machine clicks are not links people clicked.
    expect((await report()).topLinks.map((row) => row.url)).not.toContain(postUrl('autumn'));
  });

  it('an open within 2 s of delivery is a machine (a scanner fetching on arrival)', async () => {
    const messageId = mails[1]!.messageId;
    const logged = await service<MessageLogService>('messageLog').get(messageId);
    const sentAt = logged!.sentAt!;
    // The clock stands half a second after the message was accepted, for the request and its recording.
    const realNow = Date.now;
    Date.now = () => sentAt + 500;
    try {
      expect((await open(mails[1]!)).status).toBe(200);
      await tracking().flush();
    } finally {
      Date.now = realNow;
    }
    const events = await eventsOf(messageId);
    expect(events.filter((event) => event.kind === 'open')).toEqual([
      expect.objectContaining({ machine: true, machineReason: 'too-fast', at: sentAt + 500 }),
    ]);
  });

  it('answers 429 with Retry-After once a client IP goes over the limit per minute, and records nothing for it', async () => {
    const config = (
      app.strapi.plugin('multi-smtp').service('runtime') as { config(): { tracking: { rateLimitPerMinute: number } } }
    ).config().tracking;
    const original = config.rateLimitPerMinute;
    config.rateLimitPerMinute = 3;
    try {
      // Not across a window boundary: the count starts afresh each minute.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 57_000) await sleep(60_000 - intoMinute + 50);
      const before = await totalEvents();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await open(mails[0]!)).status);
      const over = await click(mails[0]!.sale);
      expect(statuses).toEqual([200, 200, 200]);
      expect(over.status).toBe(429);
      expect(over.headers.location).toBeUndefined();
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await open(mails[0]!)).status).toBe(429);
      expect(await totalEvents()).toBe(before + 3);
    } finally {
      config.rateLimitPerMinute = original;
    }
  });

  it('stopping (Strapi destroy) waits for recordings under way and writes them', async () => {
    const before = await totalEvents();
    expect((await click(mails[1]!.sale)).status).toBe(302);
    await tracking().stop();
    expect(await app.strapi.db.query('plugin::multi-smtp.tracking-event').count({})).toBe(before + 1);
  });
});
