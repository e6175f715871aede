import type { MailerService } from '../../server/src/services/mailer';
import type { StatsService } from '../../server/src/services/stats';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

const TOKEN = 'metrics-token-0123456789abcdef';

/** `name{labels} value` lines of a Prometheus text body, as [name, labels, value]. */
const samples = (body: string) =>
  body
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });

describe('Prometheus metrics endpoint', () => {
  it('answers 404 while no token is configured', async () => {
    const app = await startStrapi();
    try {
      const response = await app.http().get('/api/multi-smtp/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expect(response.status).toBe(404);
    } finally {
      await app.stop();
    }
  });

  describe('with a token', () => {
    let app: TestStrapi;
    let sink: TestSmtpServer;
    let okId: string;

    beforeAll(async () => {
      sink = await startSmtpServer({ delayMs: { data: 60 }, faults: [{ stage: 'rcpt', code: 550, recipients: ['gone@example.com'] }] });
      app = await startStrapi({ pluginConfig: { metrics: { token: TOKEN }, retry: { attempts: 2, backoffMs: 100 } } });
      const api = asAdmin(app);
      const group = (await api.post('/multi-smtp/groups', { name: 'Ops', slug: 'ops', strategy: 'weighted' })).body.data.documentId;
      const server = await api.post('/multi-smtp/servers', {
        name: 'ok "primary"',
        host: '127.0.0.1',
        port: sink.port,
        security: 'none',
        fromAddress: 'ops@example.com',
        group,
        hourlyLimit: 500,
      });
      okId = server.body.data.documentId;
      const mailer = app.strapi.plugin('multi-smtp').service('mailer') as MailerService;
      const sent = await mailer.sendBulk(
        ['a@example.com', 'b@example.com', 'c@example.com', 'gone@example.com'].map((to) => ({ to, subject: 'm', text: 'x' })),
        { group: 'ops' }
      );
      await waitFor(
        'the 4 messages finished',
        async () => (await Promise.all(sent.map((message) => mailer.status(message.id)))).every((state) => ['sent', 'bounced'].includes(state?.status ?? '')),
        20_000
      );
    }, 60_000);

    afterAll(async () => {
      await app?.stop();
      await sink?.close();
    });

    const scrape = (authorization?: string) => {
      const request = app.http().get('/api/multi-smtp/metrics');
      return authorization === undefined ? request : request.set('Authorization', authorization);
    };

    it('answers 401 without the token or with a wrong one', async () => {
      for (const header of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ']) {
        const response = await scrape(header);
        expect([header, response.status]).toEqual([header, 401]);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(response.text).not.toContain('multi_smtp_');
      }
    });

    it('serves sends by server and outcome, latency histograms, queue depth and quota use', async () => {
      // A synthetic event through the same path the tracking and bounce processing use.
      (app.strapi.plugin('multi-smtp').service('stats') as StatsService).record({ type: 'complaint', serverId: okId, groupSlug: 'ops' });
      const response = await scrape(`Bearer ${TOKEN}`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const all = samples(response.text);
      const value = (name: string, labels: Record<string, string>) =>
        all.find((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
      const server = { server_id: okId, server: 'ok \\"primary\\"' };

      expect(value('multi_smtp_sends_total', { ...server, outcome: 'accepted' })).toBe(3);
      expect(value('multi_smtp_sends_total', { ...server, outcome: 'hard_bounce' })).toBe(1);
      expect(value('multi_smtp_sends_total', { ...server, outcome: 'complaint' })).toBe(1);
      expect(value('multi_smtp_group_messages_total', { group: 'ops', outcome: 'queued' })).toBe(4);
      expect(value('multi_smtp_group_messages_total', { group: 'ops', outcome: 'accepted' })).toBe(3);

      // Every accepted send waited 60 ms for the sink's answer to DATA.
      expect(value('multi_smtp_smtp_latency_seconds_count', server)).toBe(3);
      expect(value('multi_smtp_smtp_latency_seconds_bucket', { ...server, le: '+Inf' })).toBe(3);
      expect(value('multi_smtp_smtp_latency_seconds_bucket', { ...server, le: '0.05' })).toBe(0);
      expect(value('multi_smtp_smtp_latency_seconds_sum', server)).toBeGreaterThanOrEqual(0.18);
      const buckets = all.filter((sample) => sample.name === 'multi_smtp_smtp_latency_seconds_bucket' && sample.labels.server_id === okId);
      expect(buckets.map((sample) => sample.value)).toEqual([...buckets.map((sample) => sample.value)].sort((a, b) => a - b)); // cumulative

      expect(value('multi_smtp_queue_depth', { group: 'ops' })).toBe(0);
      expect(value('multi_smtp_quota_used', { ...server, window: 'hour' })).toBe(3);
      expect(value('multi_smtp_quota_used', { ...server, window: 'day' })).toBe(3);
      expect(value('multi_smtp_quota_limit', { ...server, window: 'hour' })).toBe(500);
      expect(value('multi_smtp_quota_limit', { ...server, window: 'day' })).toBeUndefined(); // unlimited
      expect(value('multi_smtp_server_suspended', server)).toBe(0);
      expect(value('multi_smtp_connections_open', server)).toEqual(expect.any(Number));

      // Counters are kept in Redis, so they add up across processes and restarts: a second scrape
      // after more events shows the sum.
      (app.strapi.plugin('multi-smtp').service('stats') as StatsService).record({ type: 'complaint', serverId: okId });
      const again = samples((await scrape(`Bearer ${TOKEN}`)).text);
      expect(again.find((sample) => sample.name === 'multi_smtp_sends_total' && sample.labels.outcome === 'complaint')?.value).toBe(2);
    });

    it('does not use the global prom-client registry', async () => {
      const { register } = await import('prom-client');
      expect(await register.getSingleMetricAsString('multi_smtp_sends_total').catch(() => null)).toBeNull();
    });
  });
});
