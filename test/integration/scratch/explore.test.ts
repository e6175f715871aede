import { startStrapi, type TestStrapi } from '../../helpers/strapi';
import type { MessageLogEntry } from '../../../shared/contracts/messages';

const entry = (i: number, status: MessageLogEntry['status'] = 'queued'): MessageLogEntry => ({
  id: `perf-${i}`, status, from: 'shop@example.com', recipients: [`User${i}@Example.com`], subject: `Order ${i} confirmed`,
  group: 'transactional', serverId: 'srv' + (i % 3), serverName: 'Server ' + (i % 3),
  attempts: status === 'queued' ? [] : [{ at: Date.now(), serverId: 'srv', serverName: 'S', outcome: 'accepted', reply: '250 2.0.0 Ok: queued as ABC', latencyMs: 42 }],
  lastReply: null, smtpMessageId: `<${i}@example.com>`, idempotencyKey: null, source: 'api', queuedAt: Date.now(), sentAt: null, finishedAt: null,
});

describe('explore', () => {
  let app: TestStrapi;
  beforeAll(async () => { app = await startStrapi(); });
  afterAll(async () => { await app?.stop(); });
  it('measures', async () => {
    const log = app.strapi.plugin('multi-smtp').service('messageLog');
    for (const [label, status, offset] of [['insert 10k', 'queued', 0], ['update 10k', 'sent', 0], ['insert 10k more', 'queued', 10000], ['insert 10k more', 'queued', 20000]] as const) {
      const t0 = performance.now();
      for (let i = 0; i < 10000; i++) log.record(entry(i + offset, status));
      const t1 = performance.now();
      await log.flush();
      const t2 = performance.now();
      console.log(`${label}: record ${(t1 - t0).toFixed(0)} ms, flush ${(t2 - t1).toFixed(0)} ms, total ${(t2 - t0).toFixed(0)} ms`);
    }
    const count = await app.strapi.db.query('plugin::multi-smtp.message').count({});
    console.log('rows', count);
    const t3 = performance.now();
    const r = await log.search({ recipient: 'user123', pageSize: 10 });
    console.log('search', (performance.now() - t3).toFixed(1), r.meta.pagination.total);
  });
});
