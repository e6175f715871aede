import type { BouncesService } from '../../server/src/services/bounces';
import { startWithSink } from '../helpers/bounce-messages';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import type { TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

type Mailer = {
  send(message: object, options?: object): Promise<{ id: string }>;
  sendNow(message: object, options?: object): Promise<{ id: string; status: string }>;
  sendBulk(messages: object[], options?: object): Promise<{ id: string }[]>;
};

const received = (sink: TestSmtpServer, id: string) =>
  waitFor(`message ${id} at the sink`, () => sink.messages.find((message) => message.headers['x-multi-smtp-id'] === id));

describe('VERP: the envelope sender of each message', () => {
  let sink: TestSmtpServer;
  let app: TestStrapi | undefined;

  beforeAll(async () => {
    sink = await startSmtpServer();
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    sink.reset();
  });
  afterAll(() => sink?.close());

  it('with a VERP domain: every message (sent now, queued, in bulk) has its own signed MAIL FROM, and To, Cc and Bcc all still receive it', async () => {
    app = await startWithSink(sink, { bounces: { verpDomain: 'rp.shop.example', verpLocalPart: 'rp' } });
    const mailer = app.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    const bounces = app.strapi.plugin('multi-smtp').service('bounces') as BouncesService;

    const now = await mailer.sendNow({
      from: 'Shop <hello@shop.example>',
      to: 'Ann <ann@example.org>, bob@example.org',
      cc: 'carol@example.org',
      bcc: 'dave@example.org',
      subject: 'Everyone',
      text: 'Hi',
    });
    expect(now.status).toBe('sent');
    const message = await received(sink, now.id);
    expect(message!.from).toBe(bounces.envelopeFrom(now.id));
    expect(message!.from).toMatch(/^rp\+u[0-9a-f]{32}\.[0-9a-f]{16}@rp\.shop\.example$/);
    expect(bounces.verifyVerp(message!.from)).toBe(now.id);
    expect([...message!.to].sort()).toEqual(['ann@example.org', 'bob@example.org', 'carol@example.org', 'dave@example.org']);
    // The headers are the message's own: From as given, no Bcc.
    expect(message!.headers.from).toBe('Shop <hello@shop.example>');
    expect(message!.headers.bcc).toBeUndefined();

    const queued = await mailer.send({ to: 'erin@example.org', subject: 'Queued', text: 'Hi' });
    const bulk = await mailer.sendBulk([
      { to: 'f1@example.org', subject: 'Bulk', text: 'Hi' },
      { to: 'f2@example.org', subject: 'Bulk', text: 'Hi' },
    ]);
    const froms = new Set<string>();
    for (const { id } of [queued, ...bulk]) {
      const captured = await received(sink, id);
      // One recipient each: the token is bound to it, and proves nothing without it.
      expect(captured!.from).toMatch(/^rp\+r[0-9a-f]{32}\./);
      expect(bounces.verifyVerp(captured!.from, captured!.to)).toBe(id);
      expect(bounces.verifyVerp(captured!.from, ['someone-else@example.org'])).toBeNull();
      froms.add(captured!.from);
    }
    expect(froms.size).toBe(3);
  });

  it('without a VERP domain: MAIL FROM is the sender address, as before', async () => {
    app = await startWithSink(sink, {});
    const mailer = app.strapi.plugin('multi-smtp').service('mailer') as Mailer;
    const bounces = app.strapi.plugin('multi-smtp').service('bounces') as BouncesService;
    const plain = await mailer.sendNow({ to: 'ann@example.org', cc: 'bob@example.org', subject: 'Plain', text: 'Hi' });
    const message = await received(sink, plain.id);
    expect(message!.from).toBe('news@shop.example');
    expect([...message!.to].sort()).toEqual(['ann@example.org', 'bob@example.org']);
    expect(bounces.envelopeFrom(plain.id)).toBeNull();
  });
});
