import type { Core } from '@strapi/strapi';

import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

type Mailer = {
  send(message: object, options?: object): Promise<{ id: string; status: string; duplicate?: boolean }>;
  sendNow(message: object, options?: object): Promise<{ id: string; status: string; server: { name: string } | null; reply: string | null; attempts: object[]; totalMs: number }>;
  sendBulk(messages: object[], options?: object): Promise<{ id: string; status: string }[]>;
  status(id: string): Promise<{ id: string; status: string; serverName: string | null; attempts: { reply: string | null; latencyMs: number; outcome: string }[] } | null>;
};

describe('developer API: the mailer service, the content API and the email provider', () => {
  let app: TestStrapi;
  let sink: TestSmtpServer;
  let mailer: Mailer;
  let strapi: Core.Strapi;

  beforeAll(async () => {
    sink = await startSmtpServer();
    app = await startStrapi({ pluginConfig: { retry: { attempts: 2, backoffMs: 200 } } });
    strapi = app.strapi;
    mailer = strapi.plugin('multi-smtp').service('mailer') as Mailer;
    const api = asAdmin(app);
    const groups = await api.get('/multi-smtp/groups');
    const defaultGroup = groups.body.data[0].documentId;
    const created = await api.post('/multi-smtp/servers', {
      name: 'sink',
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      fromAddress: 'noreply@shop.example',
      group: defaultGroup,
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.close();
  });
  beforeEach(() => sink.reset());

  it('queues with send(), delivers through the group, and reports status with attempts', async () => {
    const sentEvents: string[] = [];
    strapi.eventHub.on('multi-smtp.message.sent', async ({ message }: { message: { id: string } }) => {
      sentEvents.push(message.id);
    });
    const queued = await mailer.send({ to: 'Ann <ann@example.com>', subject: 'Welcome', html: '<p>Hi <b>Ann</b></p>', text: 'Hi Ann' });
    expect(queued).toEqual({ id: expect.any(String), status: 'queued' });
    const [message] = await sink.waitForMessages(1);
    expect(message!.to).toEqual(['ann@example.com']);
    expect(message!.from).toBe('noreply@shop.example');
    expect(message!.headers['x-multi-smtp-id']).toBe(queued.id);
    const status = await waitFor('status sent', async () => {
      const current = await mailer.status(queued.id);
      return current?.status === 'sent' ? current : null;
    });
    expect(status!.serverName).toBe('sink');
    expect(status!.attempts).toEqual([expect.objectContaining({ outcome: 'accepted', reply: expect.stringMatching(/^250/), latencyMs: expect.any(Number) })]);
    await waitFor('sent event', () => sentEvents.includes(queued.id));
  });

  it('sends at once with sendNow() and returns the outcome', async () => {
    const result = await mailer.sendNow({ to: 'bob@example.com', subject: 'Now', text: 'now' });
    expect(result).toMatchObject({ status: 'sent', server: { name: 'sink' }, reply: expect.stringMatching(/^250/) });
    expect(result.totalMs).toBeGreaterThanOrEqual(0);
    expect(sink.messages).toHaveLength(1);
  });

  it('reports a 550 5.1.1 as a hard bounce, without a retry', async () => {
    sink.setFaults([{ stage: 'rcpt', code: 550, recipients: ['gone@example.com'] }]);
    const result = await mailer.sendNow({ to: 'gone@example.com', subject: 'x', text: 'x' });
    expect(result.status).toBe('bounced');
    expect(result.attempts).toHaveLength(1);
    await sleep(800);
    expect((await mailer.status(result.id))?.attempts).toHaveLength(1);
    expect(sink.messages).toHaveLength(0);
  });

  it('queues a bulk of messages, or none when one is bad', async () => {
    const queued = await mailer.sendBulk(
      Array.from({ length: 30 }, (_, index) => ({ to: `bulk${index}@example.com`, subject: `Bulk ${index}`, text: 'bulk' }))
    );
    expect(queued).toHaveLength(30);
    const messages = await sink.waitForMessages(30);
    expect(new Set(messages.map((message) => message.headers['x-multi-smtp-id'])).size).toBe(30);

    sink.reset();
    await expect(
      mailer.sendBulk([
        { to: 'ok@example.com', subject: 'fine', text: 'x' },
        { to: 'not-an-address', subject: 'bad', text: 'x' },
      ])
    ).rejects.toMatchObject({ errors: [{ path: ['1', 'to'], message: expect.stringMatching(/not a valid email address/) }] });
    await sleep(500);
    expect(sink.messages).toHaveLength(0);
  });

  it('refuses bad addresses and header injection before anything is queued', async () => {
    await expect(mailer.send({ to: 'a@example.com', subject: 'Hi\r\nBcc: victim@example.com', text: 'x' })).rejects.toMatchObject({
      errors: [{ path: ['subject'], message: expect.stringMatching(/line break/) }],
    });
    await expect(mailer.send({ to: 'a@example.com', subject: 'x', text: 'x', headers: { 'X-Tag': 'a\nBcc: v@example.com' } })).rejects.toMatchObject({
      errors: [{ path: ['headers', 'X-Tag'] }],
    });
    await expect(mailer.send({ to: 'a@example.com', subject: 'x', text: 'x', attachments: [{ filename: 'x', path: '/etc/passwd' }] })).rejects.toMatchObject({
      errors: expect.arrayContaining([{ path: ['attachments', '0'], message: expect.stringMatching(/path: not allowed/) }]),
    });
    await expect(mailer.send({ to: 'a@example.com', subject: 'x', text: 'x' }, { group: 'nope' })).rejects.toMatchObject({
      errors: [{ path: ['group'], message: 'does not exist' }],
    });
    await sleep(300);
    expect(sink.messages).toHaveLength(0);
  });

  it('sends once for a repeated idempotency key', async () => {
    const first = await mailer.send({ to: 'once@example.com', subject: 'Once', text: 'x' }, { idempotencyKey: 'order-42-confirmation' });
    const second = await mailer.send({ to: 'once@example.com', subject: 'Once', text: 'x' }, { idempotencyKey: 'order-42-confirmation' });
    expect(second).toMatchObject({ id: first.id, duplicate: true });
    // Two at the same moment: one message, whichever claims the key first.
    const racing = await Promise.all(
      [1, 2, 3].map(() => mailer.send({ to: 'race@example.com', subject: 'Race', text: 'x' }, { idempotencyKey: 'race-key' }))
    );
    expect(new Set(racing.map((result) => result.id)).size).toBe(1);
    expect(racing.filter((result) => result.duplicate)).toHaveLength(2);
    await sink.waitForMessages(2);
    await sleep(500);
    expect(sink.messages).toHaveLength(2);
  });

  it('never sends an accepted message again when its job runs a second time (a crash after the accept)', async () => {
    const queued = await mailer.send({ to: 'crash@example.com', subject: 'Crash', text: 'x' });
    await waitFor('sent', async () => (await mailer.status(queued.id))?.status === 'sent');
    const engine = strapi.plugin('multi-smtp').service('engine').get();
    // The same job id again, as BullMQ would hand it to another worker after a crash.
    await engine.queue.add('send', { id: queued.id }, { jobId: `${queued.id}-replay` });
    await sleep(800);
    expect(sink.messages.filter((message) => message.headers['x-multi-smtp-id'] === queued.id)).toHaveLength(1);
  });

  it("routes Strapi's own email service through the plugin", async () => {
    await strapi.plugin('email').service('email').send({ to: 'strapi-user@example.com', subject: 'Reset your password', text: 'link' });
    const [message] = await sink.waitForMessages(1);
    expect(message!.subject).toBe('Reset your password');
    expect(message!.from).toBe('site@example.com');
    expect(message!.headers['x-multi-smtp-id']).toEqual(expect.any(String));
    const status = await waitFor('log', async () => mailer.status(message!.headers['x-multi-smtp-id']!));
    expect(status).toMatchObject({ source: 'email-plugin' });
  });

  it('queues mail over HTTP with an API token, and refuses bad input with 400', async () => {
    const token = await strapi.service('admin::api-token').create({ name: 'mailer', type: 'full-access', lifespan: null, description: '' });
    const http = app.http();
    const accepted = await http
      .post('/api/multi-smtp/messages')
      .set('Authorization', `Bearer ${token.accessKey}`)
      .send({ message: { to: 'http@example.com', subject: 'Over HTTP', text: 'x' } });
    expect(accepted.status).toBe(202);
    expect(accepted.body.data).toMatchObject({ id: expect.any(String), status: 'queued' });
    await sink.waitForMessages(1);

    const bad = await http
      .post('/api/multi-smtp/messages')
      .set('Authorization', `Bearer ${token.accessKey}`)
      .send({ message: { to: 'nope', subject: 'x', text: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors[0]).toMatchObject({ path: ['message', 'to'] });

    const status = await http.get(`/api/multi-smtp/messages/${accepted.body.data.id}`).set('Authorization', `Bearer ${token.accessKey}`);
    expect(status.status).toBe(200);

    const anonymous = await http.post('/api/multi-smtp/messages').send({ message: { to: 'x@example.com', text: 'x' } });
    expect([401, 403]).toContain(anonymous.status);
  });
});
