import type { MessageLogEntry } from '../../shared/contracts/messages';
import { createMessageStore } from '../../server/src/engine/message-store';
import { createBareEngine, sinkServer, type BareEngine } from '../helpers/bare-engine';
import { startTcpProxy, type TcpProxy } from '../helpers/faults';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Redis runs the attempt script that records an accept, and its reply is lost (Redis killed between
 * running the command and answering). The engine cannot know the accept was recorded: the job fails
 * and runs again, finds the message final and sends nothing. The delivery log must still say the
 * message was sent: the server accepted it. (Found by the faults test: a campaign complete with
 * every recipient counted sent, yet its delivery log short of rows.)
 */
describe("engine: the reply to an accept's state write is lost", () => {
  let sink: TestSmtpServer;
  let proxy: TcpProxy;
  let bare: BareEngine;
  const logged: MessageLogEntry[] = [];

  beforeAll(async () => {
    sink = await startSmtpServer();
    const target = new URL(TEST_REDIS_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    bare = createBareEngine([sinkServer('sink', sink.port)], {
      slug: 'app',
      commandRedisUrl: `redis://${proxy.host}:${proxy.port}`,
      log: (entry) => logged.push(entry),
      worker: { enabled: true, concurrency: 2 },
      retry: { attempts: 10, backoffMs: 300 },
    });
  });

  afterAll(async () => {
    await bare?.stop();
    await proxy?.close();
    await sink?.close();
  });

  it('logs the message as sent once, and the rerun sends it no second time', async () => {
    // Only an accepted attempt's state write carries the SMTP message id.
    const trapped = proxy.loseReplyTo((request) => request.includes('smtpMessageId'), 1000);
    bare.engine.start({ force: true });
    const { id } = await bare.engine.send({ to: 'lost-reply@example.com', subject: 'lost reply', text: 'x' }, { group: 'app' });
    await trapped;

    const store = createMessageStore(bare.redis, { keyPrefix: bare.prefix, retentionSec: 60, idempotencySec: 60 });
    await waitFor('the message final in the store', async () => (await store.getState(id))?.status === 'sent', 15_000);
    await waitFor('the message logged as sent', () => logged.some((entry) => entry.id === id && entry.status === 'sent'), 15_000);
    // The job's rerun (after the outage) has had time to run: it must find the message final.
    await waitFor('the job done', async () => {
      const counts = await bare.engine.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed');
      return Object.values(counts).every((count) => count === 0);
    }, 15_000);
    await sleep(300);

    const deliveries = sink.messages.filter((message) => message.headers['x-multi-smtp-id'] === id);
    expect(deliveries).toHaveLength(1);
    const sentEntries = logged.filter((entry) => entry.id === id && entry.status === 'sent');
    expect(sentEntries).toHaveLength(1);
    expect(sentEntries[0]).toMatchObject({ serverName: 'sink', recipients: ['lost-reply@example.com'] });
    expect(sentEntries[0]!.attempts).toHaveLength(1);
    expect(proxy.cut).toBeGreaterThan(0);
  }, 40_000);
});
