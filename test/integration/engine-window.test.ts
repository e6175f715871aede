import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

const HOUR = 3_600_000;
const LEAD_MS = 5000;

/**
 * A group at its hourly quota waits and resumes by itself when the hour turns. The engine's clock is
 * shifted (the engine service's setClockOffset, as the `clockOffsetMs` config does; the same
 * production code path) so that the next hour starts LEAD_MS from the test's start instead of up to
 * an hour later.
 */
describe('waiting for the quota window', () => {
  let app: TestStrapi;
  let sink: TestSmtpServer;
  let hourBoundaryReal: number;

  beforeAll(async () => {
    sink = await startSmtpServer();
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 4 } } });
    const api = asAdmin(app);
    const group = (await api.post('/multi-smtp/groups', { name: 'Hourly', slug: 'hourly' })).body.data.documentId;
    const server = await api.post('/multi-smtp/servers', { name: 'five-an-hour', host: '127.0.0.1', port: sink.port, security: 'none', hourlyLimit: 5, fromAddress: 'h@example.com', group });
    expect(server.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await sink?.close();
  });

  it('sends 5 now, waits for the hour with the rest (shown as waiting), then sends them once each', async () => {
    // Make the engine believe it is LEAD_MS before the top of an hour (UTC).
    const now = Date.now();
    const engineNow = Math.ceil((now + HOUR) / HOUR) * HOUR - LEAD_MS;
    app.strapi.plugin('multi-smtp').service('engine').setClockOffset(engineNow - now);
    hourBoundaryReal = now + LEAD_MS;
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const queued = await mailer.sendBulk(Array.from({ length: 8 }, (_, index) => ({ to: `h${index}@example.com`, subject: `h${index}`, text: 'x' })), { group: 'hourly' });
    await sink.waitForMessages(5, 10_000);
    expect(Date.now()).toBeLessThan(hourBoundaryReal);

    const api = asAdmin(app);
    const overview = (await api.get('/multi-smtp/status')).body.data;
    const group = overview.groups.find((entry: { slug: string }) => entry.slug === 'hourly');
    expect(group.waiting).toMatchObject({ reason: 'quota' });
    const statuses = await Promise.all(queued.map((message: { id: string }) => mailer.status(message.id)));
    expect(statuses.filter((status) => status.status === 'deferred')).toHaveLength(3);

    await waitFor('the 3 others after the hour turned', () => sink.messages.length >= 8, 30_000, 100);
    const late = sink.messages.slice(5);
    for (const message of late) expect(message.receivedAt).toBeGreaterThanOrEqual(hourBoundaryReal - 50);
    const ids = sink.messages.map((message) => message.headers['x-multi-smtp-id']);
    expect(new Set(ids).size).toBe(8);
    // The sink has a message a moment before the engine writes its state (after the server's answer).
    const finalStatuses = await waitFor('every state written', async () => {
      const statuses = await Promise.all(queued.map((message: { id: string }) => mailer.status(message.id)));
      return statuses.every((status) => status.status === 'sent') ? statuses : undefined;
    }, 10_000, 100);
    expect(finalStatuses?.map((status) => status.attempts.length)).toEqual(Array(8).fill(1));
  }, 90_000);
});
