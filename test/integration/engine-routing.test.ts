import { startWorkerProcess, type WorkerProcess } from '../helpers/engine-workers';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

const MESSAGES = 10_000;

/**
 * Weighted routing over 10,000 real messages, sent by two worker processes at once (the one inside
 * Strapi and one more), to three real SMTP sinks weighted 5/3/2.
 */
describe('weighted routing across worker processes', () => {
  let app: TestStrapi;
  let sinks: TestSmtpServer[];
  let extraWorker: WorkerProcess | undefined;

  beforeAll(async () => {
    sinks = await Promise.all([startSmtpServer(), startSmtpServer(), startSmtpServer()]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 16 } } });
    const api = asAdmin(app);
    const group = (await api.post('/multi-smtp/groups', { name: 'Weighted', slug: 'weighted', strategy: 'weighted' })).body.data;
    for (const [index, weight] of [5, 3, 2].entries()) {
      const response = await api.post('/multi-smtp/servers', {
        name: `w${weight}`,
        host: '127.0.0.1',
        port: sinks[index]!.port,
        security: 'none',
        weight,
        maxConnections: 50,
        fromAddress: 'bulk@example.com',
        group: group.documentId,
      });
      expect(response.status).toBe(201);
    }
    extraWorker = await startWorkerProcess({
      redisUrl: TEST_REDIS_URL,
      keyPrefix: app.redisPrefix,
      concurrency: 16,
      directory: await app.strapi.plugin('multi-smtp').service('engine').directorySource.load(),
    });
  }, 120_000);

  afterAll(async () => {
    if (extraWorker) await extraWorker.stop().catch(() => extraWorker?.kill());
    await app?.stop();
    await Promise.all((sinks ?? []).map((sink) => sink.close()));
  });

  it('splits 10,000 messages 5/3/2 within 1 %, each delivered once, by both processes', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const sentHere: string[] = [];
    app.strapi.eventHub.on('multi-smtp.message.sent', async ({ message }: { message: { id: string } }) => {
      sentHere.push(message.id);
    });
    const messages = Array.from({ length: MESSAGES }, (_, index) => ({ to: `r${index}@example.com`, subject: `m${index}`, text: 'x' }));
    await mailer.sendBulk(messages, { group: 'weighted' });

    const total = () => sinks.reduce((sum, sink) => sum + sink.messages.length, 0);
    await waitFor(`${MESSAGES} messages at the sinks`, () => total() >= MESSAGES, 240_000, 200);
    const counts = sinks.map((sink) => sink.messages.length);
    const shares = counts.map((count) => count / MESSAGES);
    [0.5, 0.3, 0.2].forEach((expected, index) => expect(Math.abs(shares[index]! - expected)).toBeLessThanOrEqual(0.01));

    const ids = sinks.flatMap((sink) => sink.messages.map((message) => message.headers['x-multi-smtp-id']));
    expect(new Set(ids).size).toBe(MESSAGES);
    expect(total()).toBe(MESSAGES);

    const sentByExtra = await extraWorker!.stop();
    extraWorker = undefined;
    expect(sentByExtra).toBeGreaterThan(0);
    expect(sentHere.length).toBeGreaterThan(0);
    expect(sentByExtra + sentHere.length).toBe(MESSAGES);
  }, 300_000);
});
