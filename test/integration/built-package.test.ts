import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, BUILT_PLUGIN_PATH, startStrapi, type TestStrapi } from '../helpers/strapi';

/**
 * The other integration tests load the TypeScript sources; this one loads the package as published
 * (package.json exports -> dist/), so a build that drifts from the sources, or an entry Strapi would
 * skip silently, fails here. `npm test` builds before it runs.
 */
describe('the built package', () => {
  let app: TestStrapi;
  let sink: TestSmtpServer;
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);

  beforeAll(async () => {
    const entry = path.join(BUILT_PLUGIN_PATH, 'dist', 'server', 'index.js');
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
    process.on('warning', onWarning);
    sink = await startSmtpServer();
    app = await startStrapi({ useBuild: true });
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.close();
    process.off('warning', onWarning);
  });

  it('is loaded by Strapi from dist/ and serves the admin API', async () => {
    const api = asAdmin(app);
    const created = await api.post('/multi-smtp/servers', { name: 'from-dist', host: 'smtp.example.com', port: 587, password: 'dist-secret' });
    expect(created.status).toBe(201);
    expect(created.body.data.hasPassword).toBe(true);
    expect(created.text).not.toContain('dist-secret');
    const groups = await api.get('/multi-smtp/groups');
    expect(groups.body.data.map((group: { slug: string }) => group.slug)).toContain('default');
  });

  it('runs the SMTP thread bundle (dist/smtp-thread) on its own: open, send, close', async () => {
    const script = path.join(BUILT_PLUGIN_PATH, 'dist', 'smtp-thread', 'index.js');
    expect(fs.existsSync(script)).toBe(true);
    const worker = new Worker(script, { workerData: { role: 'multi-smtp-smtp-thread' } });
    try {
      const replies: Record<string, unknown>[] = [];
      const next = () => new Promise<Record<string, unknown>>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const ready = next();
      expect(await ready).toEqual({ ready: true });
      worker.postMessage({ op: 'open', id: 1, options: { host: sink.host, port: sink.port, ignoreTLS: true } });
      const sent = next();
      worker.postMessage({ op: 'send', id: 1, seq: 7, mail: { from: 'a@dist.example', to: 'b@dist.example', subject: 'from the dist thread', text: 'hi' } });
      replies.push(await sent);
      const failed = next();
      worker.postMessage({ op: 'send', id: 2, seq: 8, mail: { from: 'a@dist.example', to: 'b@dist.example', text: 'no such connection' } });
      replies.push(await failed);
      worker.postMessage({ op: 'close', id: 1 });
      expect(replies[0]).toMatchObject({ seq: 7, info: { accepted: ['b@dist.example'], response: expect.stringMatching(/^250/) } });
      expect(replies[1]).toMatchObject({ seq: 8, error: { code: 'ECONNECTION' } });
      const [message] = await sink.waitForMessages(1);
      expect(message!.subject).toBe('from the dist thread');
    } finally {
      await worker.terminate();
      sink.reset();
    }
  });

  it('sends through the engine from dist/, on SMTP threads (no fall-back to the main thread)', async () => {
    const api = asAdmin(app);
    const groups = await api.get('/multi-smtp/groups');
    const created = await api.post('/multi-smtp/servers', {
      name: 'dist-sink',
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      fromAddress: 'noreply@dist.example',
      group: groups.body.data[0].documentId,
    });
    expect(created.status).toBe(201);
    const mailer = app.strapi.plugin('multi-smtp').service('mailer') as { sendNow(message: object): Promise<{ status: string }> };
    const result = await mailer.sendNow({ to: 'ann@example.com', subject: 'Built and threaded', text: 'Hi' });
    expect(result.status).toBe('sent');
    const [message] = await sink.waitForMessages(1);
    expect(message!.subject).toBe('Built and threaded');
    expect(warnings.filter((warning) => warning.includes('main thread'))).toEqual([]);
  });
});
