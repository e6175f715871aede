import { startWorkerProcess, type WorkerProcess } from '../helpers/engine-workers';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * Per-destination shaping (issue 12, item 3) through the real engine in two processes (the Strapi
 * under test and an extra worker process on the same queue and Redis): a server's limit toward
 * gmail holds exactly, mail to other domains in the same batches is not held behind it, and the
 * in-flight limit holds at the sink. This machine has no DNS: gmail.com is known without it, and
 * every other domain stands for itself (the fallback).
 */

const GMAIL_PER_MINUTE = 12;
const GMAIL_CONNECTIONS = 2;
const GMAIL_PER_SECOND = 4;

describe('per-destination limits across two processes', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let minuteSink: TestSmtpServer;
  let pacedSink: TestSmtpServer;
  let worker: WorkerProcess | undefined;
  let minuteServerId: string;
  let mailer: {
    sendBulk(messages: object[], options: object): Promise<{ id: string }[]>;
    status(id: string): Promise<{ status: string } | null>;
  };

  const addGroup = async (slug: string) =>
    (await api.post('/multi-smtp/groups', { name: slug, slug, strategy: 'weighted' })).body.data.documentId as string;

  beforeAll(async () => {
    // A slow answer to DATA keeps several sends in flight at once, so the in-flight limit is tested.
    [minuteSink, pacedSink] = await Promise.all([startSmtpServer({ delayMs: { data: 80 } }), startSmtpServer()]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 8 } } });
    api = asAdmin(app);
    mailer = app.strapi.plugin('multi-smtp').service('mailer');

    const minuteGroup = await addGroup('to-gmail-per-minute');
    const created = await api.post('/multi-smtp/servers', {
      name: 'relay-minute',
      host: '127.0.0.1',
      port: minuteSink.port,
      security: 'none',
      fromAddress: 'news@example.com',
      maxConnections: 10,
      group: minuteGroup,
      destinationLimits: { gmail: { perMinute: GMAIL_PER_MINUTE, connections: GMAIL_CONNECTIONS } },
    });
    expect(created.status).toBe(201);
    minuteServerId = created.body.data.documentId;
    // The override is stored and shown as given (and refused with the field named when wrong).
    expect(created.body.data.destinationLimits).toEqual({
      gmail: { perMinute: GMAIL_PER_MINUTE, connections: GMAIL_CONNECTIONS },
    });
    const refused = await api.put(`/multi-smtp/servers/${created.body.data.documentId}`, {
      destinationLimits: { gmail: { perMinute: -1 } },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/destinationLimits\.gmail\.perMinute.*must not be negative/);

    const pacedGroup = await addGroup('to-gmail-paced');
    expect(
      (
        await api.post('/multi-smtp/servers', {
          name: 'relay-paced',
          host: '127.0.0.1',
          port: pacedSink.port,
          security: 'none',
          fromAddress: 'news@example.com',
          maxConnections: 10,
          group: pacedGroup,
          destinationLimits: { gmail: { perSecond: GMAIL_PER_SECOND } },
        })
      ).status
    ).toBe(201);

    // Both engines' clocks stand half a second into a minute: the per-minute window under test
    // does not end while the test runs (it takes seconds; the window has most of a minute left).
    const offset = 60_000 - (Date.now() % 60_000) + 500;
    app.strapi.plugin('multi-smtp').service('engine').setClockOffset(offset);
    const directory = await app.strapi.plugin('multi-smtp').service('engine').directorySource.load();
    worker = await startWorkerProcess({
      redisUrl: TEST_REDIS_URL,
      keyPrefix: app.redisPrefix,
      concurrency: 8,
      clockOffsetMs: offset,
      directory,
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop().catch(() => worker?.kill());
    await app?.stop();
    await Promise.all([minuteSink, pacedSink].map((sink) => sink?.close()));
  });

  it('sends exactly the per-minute limit to gmail, keeps its in-flight limit, and lets other domains through at once', async () => {
    // Interleaved in the same batches (50 messages a job): gmail, then another domain, and so on.
    const messages = Array.from({ length: 100 }, (_, index) =>
      index % 2 === 0
        ? { to: `g${index}@gmail.com`, subject: `gmail ${index}`, text: 'x' }
        : {
            to: `o${index}@${index % 4 === 1 ? 'example.org' : 'other-domain.test'}`,
            subject: `other ${index}`,
            text: 'x',
          }
    );
    const queued = await mailer.sendBulk(messages, { group: 'to-gmail-per-minute', priority: 3 });
    const gmailIds = queued.filter((_, index) => index % 2 === 0).map((entry) => entry.id);

    const toGmail = () => minuteSink.messages.filter((message) => message.to[0]!.endsWith('@gmail.com'));
    const toOthers = () => minuteSink.messages.filter((message) => !message.to[0]!.endsWith('@gmail.com'));
    // All 50 to other domains arrive, not held behind the gmail mail that is over its limit.
    await waitFor('the mail to other domains', () => toOthers().length === 50, 30_000);
    await waitFor('the first minute of gmail mail', () => toGmail().length >= GMAIL_PER_MINUTE, 30_000);
    // The rest of the gmail mail waits for the next minute: deferred, none lost or failed.
    await waitFor('the held gmail mail deferred', async () => {
      const statuses = await Promise.all(gmailIds.map((id) => mailer.status(id)));
      return statuses.filter((entry) => entry?.status === 'deferred').length === 50 - GMAIL_PER_MINUTE;
    });

    expect(toGmail()).toHaveLength(GMAIL_PER_MINUTE);
    // The delivery log's explanation: the server was passed over for gmail's limit.
    const heldEntries = (await Promise.all(gmailIds.map((id) => mailer.status(id)))).filter(
      (entry) => entry?.status === 'deferred'
    ) as unknown as {
      decision: { skips: { server: string; reason: string }[] };
    }[];
    const reasons = heldEntries.flatMap((entry) => entry.decision.skips.map((skip) => skip.reason));
    expect(reasons).toContain(`destination gmail: ${GMAIL_PER_MINUTE}/min reached`);
    // Each held message waits in a job of its own, with the priority it was sent with.
    const queue = app.strapi.plugin('multi-smtp').service('engine').get().queue as { getJob(id: string): Promise<{ opts: { priority?: number } } | undefined> };
    const ownJobs = (await Promise.all(gmailIds.map((id) => queue.getJob(id)))).filter((entry) => entry !== undefined);
    expect(ownJobs).toHaveLength(50 - GMAIL_PER_MINUTE);
    for (const entry of ownJobs) expect(entry!.opts.priority).toBe(3);
    expect(new Set(minuteSink.messages.map((message) => message.to[0])).size).toBe(minuteSink.messages.length);
    expect(minuteSink.peakInFlightTo('gmail.com')).toBeGreaterThanOrEqual(1);
    expect(minuteSink.peakInFlightTo('gmail.com')).toBeLessThanOrEqual(GMAIL_CONNECTIONS);
    // The other domains had no limit: they were sent side by side.
    expect(minuteSink.peakInFlightTo('example.org') + minuteSink.peakInFlightTo('other-domain.test')).toBeGreaterThan(
      GMAIL_CONNECTIONS
    );
  }, 60_000);

  it('paces gmail at its per-second limit across both processes, sending every message exactly once', async () => {
    const messages = Array.from({ length: 40 }, (_, index) =>
      index % 2 === 0
        ? { to: `p${index}@gmail.com`, subject: `paced ${index}`, text: 'x' }
        : { to: `p${index}@example.org`, subject: `free ${index}`, text: 'x' }
    );
    const queued = await mailer.sendBulk(messages, { group: 'to-gmail-paced' });
    await waitFor('every paced message', () => pacedSink.messages.length === 40, 45_000);
    const statuses = await Promise.all(queued.map((entry) => mailer.status(entry.id)));
    expect(statuses.map((entry) => entry?.status)).toEqual(Array.from({ length: 40 }, () => 'sent'));
    expect(new Set(pacedSink.messages.map((message) => message.to[0])).size).toBe(40);

    // 20 gmail grants at most one per 250 ms: the last is at least 19 intervals after the first
    // (less the spread of send latencies). A lower bound only: a slow machine cannot fail it.
    const gmailTimes = pacedSink.messages
      .filter((message) => message.to[0]!.endsWith('@gmail.com'))
      .map((message) => message.receivedAt);
    expect(gmailTimes).toHaveLength(20);
    expect(Math.max(...gmailTimes) - Math.min(...gmailTimes)).toBeGreaterThanOrEqual(
      19 * (1000 / GMAIL_PER_SECOND) - 500
    );
    // The other domain is not paced: it was all delivered before the gmail mail was done.
    const otherTimes = pacedSink.messages
      .filter((message) => message.to[0]!.endsWith('@example.org'))
      .map((message) => message.receivedAt);
    expect(Math.max(...otherTimes)).toBeLessThan(Math.max(...gmailTimes));
  }, 60_000);

  it('the minute window held exactly: still no more gmail mail than the limit, and the worker process took part', async () => {
    expect(minuteSink.messages.filter((message) => message.to[0]!.endsWith('@gmail.com'))).toHaveLength(
      GMAIL_PER_MINUTE
    );
    // The live status shows the server's use of gmail beside its quotas.
    const status = await api.get(`/multi-smtp/servers/${minuteServerId}/status`);
    expect(status.status).toBe(200);
    const gmail = (status.body.data.destinations as { destination: string }[]).find(
      (entry) => entry.destination === 'gmail'
    );
    expect(gmail).toMatchObject({
      minute: GMAIL_PER_MINUTE,
      inFlight: 0,
      limits: { perMinute: GMAIL_PER_MINUTE, connections: GMAIL_CONNECTIONS },
    });
    const sentByWorker = await worker!.stop();
    worker = undefined;
    expect(sentByWorker).toBeGreaterThan(0);
  });
});
