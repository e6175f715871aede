import { startWorkerProcess } from '../helpers/engine-workers';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * A worker that is shut down while it sends lets its in-flight sends finish; what it had not taken
 * stays queued and another worker sends it. Nothing is lost and nothing is sent twice.
 */
describe('graceful shutdown of a worker', () => {
  let app: TestStrapi;
  let sink: TestSmtpServer;

  beforeAll(async () => {
    sink = await startSmtpServer({ delayMs: { data: 150 } });
    // Strapi's own worker is off at first, so the extra process takes the messages.
    app = await startStrapi({ pluginConfig: { worker: { enabled: false, concurrency: 4 } } });
    const api = asAdmin(app);
    const group = (await api.post('/multi-smtp/groups', { name: 'Slow', slug: 'slow' })).body.data.documentId;
    const created = await api.post('/multi-smtp/servers', { name: 'slow', host: '127.0.0.1', port: sink.port, security: 'none', maxConnections: 4, fromAddress: 's@example.com', group });
    expect(created.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await sink?.close();
  });

  it('finishes in-flight sends on stop, and another worker sends the rest once', async () => {
    const directory = await app.strapi.plugin('multi-smtp').service('engine').directorySource.load();
    const worker = await startWorkerProcess({ redisUrl: TEST_REDIS_URL, keyPrefix: app.redisPrefix, concurrency: 4, directory });
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const queued = await mailer.sendBulk(Array.from({ length: 40 }, (_, index) => ({ to: `s${index}@example.com`, subject: `s${index}`, text: 'x' })), { group: 'slow' });

    await waitFor('some messages sent', () => sink.messages.length >= 5, 20_000);
    const sentByWorker = await worker.stop(); // resolves once its in-flight sends are done
    const atStop = sink.messages.length;
    expect(sentByWorker).toBe(atStop);
    expect(atStop).toBeLessThan(40);

    // Another worker (Strapi's own, started now) takes what was left in the queue.
    app.strapi.plugin('multi-smtp').service('engine').get().start({ force: true });
    await waitFor('all 40 delivered', () => sink.messages.length >= 40, 30_000);
    const ids = sink.messages.map((message) => message.headers['x-multi-smtp-id']);
    expect(new Set(ids).size).toBe(40);
    expect(new Set(ids)).toEqual(new Set(queued.map((message: { id: string }) => message.id)));
  }, 90_000);
});
