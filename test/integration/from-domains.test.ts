import type { MessageLogEntry } from '../../shared/contracts/messages';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * Allowed From domains per server (issue 12, item 1): a server never sends mail From a domain it
 * does not allow; the group's other server takes it; a group where none allows fails the message
 * at once with a reply saying why; an explicit server that does not allow it is refused with a 400.
 */
describe('allowed From domains', () => {
  let app: TestStrapi;
  let corporate: TestSmtpServer;
  let newsletters: TestSmtpServer;
  let lonely: TestSmtpServer;
  const ids: Record<string, string> = {};
  /** A skip names the server by name in the stored log, by id in the live view: either is that server. */
  const serverNamed = (name: string) => expect.stringMatching(new RegExp(`^(${name}|${ids[name]})$`));

  beforeAll(async () => {
    [corporate, newsletters, lonely] = await Promise.all([startSmtpServer(), startSmtpServer(), startSmtpServer()]);
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 4 }, retry: { attempts: 2, backoffMs: 200 } } });
    const api = asAdmin(app);
    const mixed = (await api.post('/multi-smtp/groups', { name: 'Mixed', slug: 'mixed', strategy: 'round-robin' })).body.data;
    const strict = (await api.post('/multi-smtp/groups', { name: 'Strict', slug: 'strict' })).body.data;
    const servers = [
      { name: 'corporate', sink: corporate, group: mixed.documentId, allowedFromDomains: ['example.com', '*.example.com'] },
      { name: 'newsletters', sink: newsletters, group: mixed.documentId, allowedFromDomains: ['news.test'] },
      { name: 'lonely', sink: lonely, group: strict.documentId, allowedFromDomains: ['EXAMPLE.com'] },
    ];
    for (const server of servers) {
      const response = await api.post('/multi-smtp/servers', {
        name: server.name,
        host: '127.0.0.1',
        port: server.sink.port,
        security: 'none',
        maxConnections: 10,
        fromAddress: `noreply@${server.allowedFromDomains[0]!.toLowerCase()}`,
        group: server.group,
        allowedFromDomains: server.allowedFromDomains,
      });
      expect(response.status).toBe(201);
      ids[server.name] = response.body.data.documentId;
    }
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([corporate, newsletters, lonely].filter(Boolean).map((sink) => sink.close()));
  });

  it('stores the list (lower-cased) and refuses a bad domain with a 400 naming the field', async () => {
    const api = asAdmin(app);
    const lonelyServer = await api.get(`/multi-smtp/servers/${ids.lonely}`);
    expect(lonelyServer.body.data.allowedFromDomains).toEqual(['example.com']);

    const bad = await api.put(`/multi-smtp/servers/${ids.lonely}`, { allowedFromDomains: ['example.com', 'not a domain'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: ['allowedFromDomains', '1'], message: expect.stringContaining('must be a domain') })])
    );
  });

  it('never sends a From domain through a server that does not allow it: the other server gets all of it', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const sentNews: MessageLogEntry[] = [];
    app.strapi.eventHub.on('multi-smtp.message.sent', async ({ message }: { message: MessageLogEntry }) => {
      if (message.subject.startsWith('news')) sentNews.push(message);
    });
    const news = Array.from({ length: 20 }, (_, index) => ({ from: 'Team <team@news.test>', to: `n${index}@example.org`, subject: `news ${index}`, text: 'x' }));
    const corp = Array.from({ length: 20 }, (_, index) => ({ from: `ceo@mail.example.com`, to: `c${index}@example.org`, subject: `corp ${index}`, text: 'x' }));
    const queuedNews = await mailer.sendBulk(news, { group: 'mixed' });
    await mailer.sendBulk(corp, { group: 'mixed' });
    // Without a From, each server's own sender is used, which it always allows: both take some.
    const plain = Array.from({ length: 10 }, (_, index) => ({ to: `p${index}@example.org`, subject: `plain ${index}`, text: 'x' }));
    await mailer.sendBulk(plain, { group: 'mixed' });

    await waitFor('50 messages delivered', () => corporate.messages.length + newsletters.messages.length >= 50, 60_000);
    expect(newsletters.messages.filter((message) => message.subject?.startsWith('news')).length).toBe(20);
    expect(corporate.messages.filter((message) => message.subject?.startsWith('corp')).length).toBe(20);
    expect(corporate.messages.some((message) => message.from === 'team@news.test')).toBe(false);
    expect(newsletters.messages.some((message) => message.from.endsWith('example.com'))).toBe(false);
    expect(corporate.messages.filter((message) => message.subject?.startsWith('plain')).length).toBeGreaterThan(0);
    expect(newsletters.messages.filter((message) => message.subject?.startsWith('plain')).length).toBeGreaterThan(0);
    const status = await mailer.status(queuedNews[0].id);
    expect(status.status).toBe('sent');
    expect(status.serverName).toBe('newsletters');
    // The delivery log's entry for each says why the other server was passed over.
    expect(sentNews).toHaveLength(20);
    for (const entry of sentNews) expect(entry.decision?.skips).toEqual([{ server: serverNamed('corporate'), reason: 'From domain news.test not allowed' }]);
  }, 90_000);

  it('fails at once, saying why, when no server of the group or its fallbacks allows the domain', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    const queued = await mailer.send({ from: 'someone@elsewhere.test', to: 'x@example.org', subject: 'nowhere', text: 'x' }, { group: 'strict' });
    const status = await waitFor('the message failed', async () => {
      const current = await mailer.status(queued.id);
      return current?.status === 'failed' ? current : null;
    }, 30_000);
    expect(status.attempts).toEqual([]);
    expect(status.lastReply).toContain('No server may send From domain elsewhere.test');
    expect(status.lastReply).toContain('group strict');
    expect(lonely.messages).toHaveLength(0);
    // The delivery log names the server passed over and why.
    expect(status.decision?.skips).toEqual([{ server: serverNamed('lonely'), reason: 'From domain elsewhere.test not allowed' }]);

    // sendNow answers the same at once.
    const report = await mailer.sendNow({ from: 'someone@elsewhere.test', to: 'y@example.org', subject: 'nowhere now', text: 'x' }, { group: 'strict' });
    expect(report.status).toBe('failed');
    expect(report.reply).toContain('No server may send From domain elsewhere.test');
  }, 60_000);

  it('refuses an explicit server that does not allow the From domain with a 400 naming `server`', async () => {
    const mailer = app.strapi.plugin('multi-smtp').service('mailer');
    await expect(
      mailer.send({ from: 'team@news.test', to: 'x@example.org', subject: 'pinned', text: 'x' }, { server: ids.corporate })
    ).rejects.toMatchObject({ errors: [{ path: ['server'], message: expect.stringContaining('does not allow From domain news.test') }] });

    const token = await app.strapi.service('admin::api-token').create({ name: 'from-domains', type: 'full-access', lifespan: null, description: '' });
    const refused = await app
      .http()
      .post('/api/multi-smtp/messages')
      .set('Authorization', `Bearer ${token.accessKey}`)
      .send({ message: { from: 'team@news.test', to: 'x@example.org', subject: 'pinned', text: 'x' }, options: { server: ids.corporate } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.error.details.errors)).toContain('server');
    expect(JSON.stringify(refused.body.error.details.errors)).toContain('does not allow From domain news.test');

    // The same server takes a From it allows.
    const accepted = await mailer.sendNow({ from: 'ceo@example.com', to: 'x@example.org', subject: 'pinned ok', text: 'x' }, { server: ids.corporate });
    expect(accepted.status).toBe('sent');
    expect(accepted.server?.id).toBe(ids.corporate);
  }, 60_000);
});
