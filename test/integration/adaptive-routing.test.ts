import type { Core } from '@strapi/strapi';

import type { QuotaLimits, QuotaStore } from '../../server/src/engine/quota';
import { midHourClockOffset } from '../helpers/redis-topologies';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * The `adaptive` strategy on a real Strapi, the real quota store and SMTP sinks: of two servers of
 * equal weight and hourly limit, the one with a quarter of its hour left gets about a quarter of
 * the share of the one with all of it (engine/adaptive.ts), where `weighted` would split evenly.
 */

type Mailer = { sendBulk(messages: object[], options?: object): Promise<unknown> };
type EngineLike = { quota: QuotaStore; now(): number };

const HOURLY_LIMIT = 1000;
const MESSAGES = 300;

describe('adaptive routing', () => {
  let app: TestStrapi;
  let strapi: Core.Strapi;
  const sinks: TestSmtpServer[] = [];

  beforeAll(async () => {
    // Half past an hour on the engine's clock: the hourly window cannot end during the test.
    app = await startStrapi({ pluginConfig: { clockOffsetMs: midHourClockOffset() } });
    strapi = app.strapi;
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all(sinks.map((sink) => sink.close()));
  });

  it('sends less to a server with less quota left, in proportion to what is left', async () => {
    const api = asAdmin(app);
    const group = await api.post('/multi-smtp/groups', { name: 'Adaptive', slug: 'adaptive', strategy: 'adaptive' });
    expect(group.status).toBe(201);
    const serverIds: string[] = [];
    for (const name of ['fresh', 'used']) {
      const sink = await startSmtpServer();
      sinks.push(sink);
      const created = await api.post('/multi-smtp/servers', {
        name,
        host: sink.host,
        port: sink.port,
        security: 'none',
        // More than the worker's concurrency: a server at its connection limit would pass its turn to the other.
        maxConnections: 50,
        hourlyLimit: HOURLY_LIMIT,
        fromAddress: 'shop@example.com',
        group: group.body.data.documentId,
      });
      expect(created.status).toBe(201);
      serverIds.push(created.body.data.documentId);
    }
    const [freshId, usedId] = serverIds as [string, string];

    // 750 of the used server's hour taken through the quota store, as earlier sends would have.
    const engine = strapi.plugin('multi-smtp').service('engine').get() as EngineLike;
    const limits: QuotaLimits = { perSecond: null, perHour: HOURLY_LIMIT, perDay: null, maxConnections: null };
    for (let index = 0; index < 750; index += 1) {
      const reserved = await engine.quota.reserve(usedId, limits, engine.now());
      if (!reserved.ok) throw new Error(`reservation ${index} refused: ${reserved.reason}`);
      await engine.quota.release(reserved.reservation, { accepted: true });
    }
    expect((await engine.quota.usage(usedId, limits, engine.now())).hour).toBe(750);

    const mailer = strapi.plugin('multi-smtp').service('mailer') as Mailer;
    await mailer.sendBulk(
      Array.from({ length: MESSAGES }, (_, index) => ({
        to: `r${index}@inbox.example`,
        subject: `m${index}`,
        text: 'Hello',
      })),
      { group: 'adaptive' }
    );
    const [fresh, used] = sinks as [TestSmtpServer, TestSmtpServer];
    await waitFor('every message delivered', () => fresh.messages.length + used.messages.length >= MESSAGES, 60_000);
    expect(fresh.messages.length + used.messages.length).toBe(MESSAGES);

    // Shares 1 : 0.25 at the start, 1 : ~0.2 by the end as both use quota: about 60 of 300 (weighted would give 150).
    const usedShare = used.messages.length / MESSAGES;
    expect(usedShare).toBeGreaterThan(0.1);
    expect(usedShare).toBeLessThan(0.3);
    // The quota store counted every send where it went.
    expect((await engine.quota.usage(usedId, limits, engine.now())).hour).toBe(750 + used.messages.length);
    expect((await engine.quota.usage(freshId, limits, engine.now())).hour).toBe(fresh.messages.length);
  });
});
