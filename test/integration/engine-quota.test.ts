import { startWorkerProcess, type WorkerProcess } from '../helpers/engine-workers';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

const today = () => new Date().toISOString().slice(0, 10);

describe('quotas through the engine', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let hourly: TestSmtpServer;
  let daily: TestSmtpServer;
  let warm: TestSmtpServer;
  let plain: TestSmtpServer;
  let workers: WorkerProcess[] = [];
  const ids: Record<string, string> = {};

  const addGroup = async (slug: string) => (await api.post('/multi-smtp/groups', { name: slug, slug, strategy: 'weighted' })).body.data.documentId as string;
  const addServer = async (name: string, body: object) => {
    const response = await api.post('/multi-smtp/servers', { name, host: '127.0.0.1', security: 'none', fromAddress: 'q@example.com', ...body });
    expect(response.status).toBe(201);
    ids[name] = response.body.data.documentId;
  };

  beforeAll(async () => {
    // Slow answers to DATA keep several sends in flight at once, so the connection limit is tested.
    [hourly, daily, warm, plain] = await Promise.all([
      startSmtpServer({ delayMs: { data: 40 } }),
      startSmtpServer({ delayMs: { data: 40 } }),
      startSmtpServer(),
      startSmtpServer(),
    ]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 8 } } });
    api = asAdmin(app);
    const capped = await addGroup('capped');
    await addServer('hourly-40', { port: hourly.port, hourlyLimit: 40, maxConnections: 2, group: capped });
    await addServer('daily-30', { port: daily.port, dailyLimit: 30, maxConnections: 3, group: capped });
    const warming = await addGroup('warming');
    // Connections for every send of the 4 processes (4 x 8): a server at its connection limit sheds
    // mail to the other (by design), which would make warm's share, not its cap, the thing measured.
    await addServer('warm', { port: warm.port, weight: 1, maxConnections: 32, group: warming, warmup: { preset: 'standard', startDate: today() } });
    await addServer('plain', { port: plain.port, weight: 1, maxConnections: 32, group: warming });

    const directory = await app.strapi.plugin('multi-smtp').service('engine').directorySource.load();
    workers = await Promise.all(
      [1, 2, 3].map(() => startWorkerProcess({ redisUrl: TEST_REDIS_URL, keyPrefix: app.redisPrefix, concurrency: 8, directory }))
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop().catch(() => worker.kill())));
    await app?.stop();
    await Promise.all([hourly, daily, warm, plain].map((sink) => sink?.close()));
  });

  it('never goes over an hourly, daily or connection limit with 4 worker processes', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const queued = await mailer.sendBulk(
      Array.from({ length: 150 }, (_, index) => ({ to: `q${index}@example.com`, subject: `q${index}`, text: 'x' })),
      { group: 'capped' }
    );
    await waitFor('70 messages at the sinks', () => hourly.messages.length + daily.messages.length >= 70, 60_000);
    await sleep(2000); // anything over the caps would arrive now
    expect(hourly.messages).toHaveLength(40);
    expect(daily.messages).toHaveLength(30);
    expect(hourly.peakConnections).toBeLessThanOrEqual(2);
    expect(daily.peakConnections).toBeLessThanOrEqual(3);

    // The other 80 wait (deferred once tried, or still queued in a waiting batch; none failed) and
    // the group says so, with the reset time.
    const statuses = await Promise.all(queued.map((message: { id: string }) => mailer.status(message.id)));
    const byStatus = statuses.reduce<Record<string, number>>((counts, entry) => ({ ...counts, [entry.status]: (counts[entry.status] ?? 0) + 1 }), {});
    expect(byStatus.sent).toBe(70);
    expect((byStatus.deferred ?? 0) + (byStatus.queued ?? 0)).toBe(80);
    expect(byStatus.deferred).toBeGreaterThan(0);
    const overview = (await api.get('/multi-smtp/status')).body.data;
    const group = overview.groups.find((entry: { slug: string }) => entry.slug === 'capped');
    expect(group.waiting).toMatchObject({ reason: 'quota', until: expect.any(Number) });
    expect(group.waiting.until).toBeGreaterThan(Date.now());
    expect(group.depth).toBe(80);
    const hourlyStatus = overview.servers.find((entry: { name: string }) => entry.name === 'hourly-40');
    expect(hourlyStatus.quota.hour).toMatchObject({ used: 40, cap: 40 });
    expect(hourlyStatus.lastHour.sent).toBeGreaterThan(0);
  }, 120_000);

  it("caps a warming-up server at today's plan value and sends the rest through the others", async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const queued = await mailer.sendBulk(
      Array.from({ length: 120 }, (_, index) => ({ to: `w${index}@example.com`, subject: `w${index}`, text: 'x' })),
      { group: 'warming' }
    );
    try {
      await waitFor('120 messages at the sinks', () => warm.messages.length + plain.messages.length >= 120, 60_000);
    } catch (error) {
      const statuses = await Promise.all(queued.map((message: { id: string }) => mailer.status(message.id)));
      const summary = statuses.map((entry) => `${entry?.status}:${entry?.attempts.length}`).join(' ');
      // What the waiting messages wait for (reason, until) and why each skipped a server: the clue
      // when mail is stuck (seen twice in CI under load, never alone).
      const overview = (await api.get('/multi-smtp/status')).body.data;
      const waiting = overview.groups.find((entry: { slug: string }) => entry.slug === 'warming')?.waiting ?? null;
      const skips = statuses.filter((entry) => entry?.status === 'deferred').map((entry) => JSON.stringify(entry?.decision?.skips ?? null));
      throw new Error(
        `${(error as Error).message}; warm ${warm.messages.length}, plain ${plain.messages.length}; now ${Date.now()}, group waiting ${JSON.stringify(waiting)}; ${summary}; deferred skips ${[...new Set(skips)].join(' | ')}`
      );
    }
    await sleep(1000);
    expect(warm.messages).toHaveLength(50); // day 1 of the standard ramp
    expect(plain.messages).toHaveLength(70);
    const status = (await api.get(`/multi-smtp/servers/${ids.warm}/status`)).body.data;
    expect(status.warmup).toMatchObject({ day: 1, cap: 50 });
    expect(status.quota.day).toMatchObject({ used: 50, cap: 50 });
  }, 120_000);
});
