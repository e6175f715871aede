import { createCampaign, createList, createSubscriber, fieldErrors, readyCampaign } from '../helpers/campaigns';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

describe('campaign test send: any address, a subscriber or sample data, the group or a chosen server', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sink: TestSmtpServer;
  let otherSink: TestSmtpServer;
  let otherServerId: string;
  let otherGroupId: string;
  let listId: string;
  let bobId: string;

  const PUBLIC_URL = 'https://news.example';
  const testSend = (campaignId: string, body: object) => api.post(`/multi-smtp/campaigns/${campaignId}/test-send`, body);

  beforeAll(async () => {
    sink = await startSmtpServer({ faults: [{ stage: 'rcpt', code: 550, recipients: ['nobody@example.com'] }] });
    otherSink = await startSmtpServer();
    app = await startStrapi({
      pluginConfig: {
        worker: { enabled: false },
        publicUrl: PUBLIC_URL,
        campaigns: { unsubscribeMailto: 'unsubscribe@shop.example' },
      },
    });
    api = asAdmin(app);
    const defaultGroup = (await api.get('/multi-smtp/groups')).body.data[0].documentId;
    const otherGroup = (await api.post('/multi-smtp/groups', { name: 'Other', slug: 'other' })).body.data.documentId;
    otherGroupId = otherGroup;
    for (const [name, port, group] of [
      ['main-sink', sink.port, defaultGroup],
      ['other-sink', otherSink.port, otherGroup],
    ] as const) {
      const created = await api.post('/multi-smtp/servers', { name, host: '127.0.0.1', port, security: 'none', group });
      expect(created.status).toBe(201);
      if (name === 'other-sink') otherServerId = created.body.data.documentId;
    }
    listId = (await createList(api, 'Customers')).documentId;
    bobId = (await createSubscriber(api, { email: 'bob@example.com', name: '<b>Bob</b>', lists: [listId], attributes: { plan: 'pro' } })).documentId;
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.close();
    await otherSink?.close();
  });
  beforeEach(() => {
    sink.reset();
    otherSink.reset();
  });

  const campaignBody = (overrides: Record<string, unknown> = {}) =>
    readyCampaign([listId], {
      subject: 'News for {{ recipient.name }} ({{ recipient.attributes.plan | default: "free" }})',
      fromName: 'Shop',
      fromAddress: 'news@shop.example',
      replyTo: 'help@shop.example',
      html: '<p>Hi {{ recipient.name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
      ...overrides,
    });

  it("sends to any addresses with a subscriber's data, escaped in HTML, with real campaign headers, and reports the SMTP reply", async () => {
    const campaign = await createCampaign(api, campaignBody());
    const response = await testSend(campaign.documentId, { to: ['qa1@example.com', 'QA2@Example.com'], subscriberId: bobId });
    expect(response.status).toBe(200);
    expect(response.body.data.subject).toBe('[Test] News for <b>Bob</b> (pro)');
    expect(response.body.data.results).toEqual(
      ['qa1@example.com', 'QA2@Example.com'].map((to) => ({
        to,
        accepted: true,
        status: 'sent',
        reply: expect.stringMatching(/^250 /),
        server: { id: expect.any(String), name: 'main-sink' },
        messageId: expect.any(String),
        error: null,
      }))
    );

    const messages = await sink.waitForMessages(2);
    expect(messages.map((message) => message.to[0]!.toLowerCase()).sort()).toEqual(['qa1@example.com', 'qa2@example.com']);
    for (const message of messages) {
      expect(message.subject).toBe('[Test] News for <b>Bob</b> (pro)');
      expect(message.html).toContain('<p>Hi &lt;b&gt;Bob&lt;/b&gt;</p>');
      expect(message.html).not.toContain('<b>Bob</b>');
      expect(message.text).toContain('Hi <b>Bob</b>');
      expect(message.headers.from).toBe('Shop <news@shop.example>');
      expect(message.headers['reply-to']).toBe('help@shop.example');
      expect(message.headers['x-campaign-id']).toBe(campaign.documentId);
      expect(message.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
      expect(message.headers['list-unsubscribe']).toMatch(
        /^<https:\/\/news\.example\/api\/multi-smtp\/unsubscribe\/[A-Za-z0-9_-]+>, <mailto:unsubscribe@shop\.example\?subject=unsubscribe>$/
      );
    }

    // The link is the test address's own: it works, and only touches that address.
    const qa1 = messages.find((message) => message.to[0] === 'qa1@example.com')!;
    const link = /<https:\/\/news\.example([^>]+)>/.exec(qa1.headers['list-unsubscribe']!)![1]!;
    expect(qa1.html).toContain(`href="${PUBLIC_URL}${link}"`);
    expect((await app.http().post(link).type('form').send('List-Unsubscribe=One-Click')).status).toBe(200);
    const suppressed = (await api.get('/multi-smtp/suppressions?q=qa1%40example.com')).body.data as { value: string }[];
    expect(suppressed.map((entry) => entry.value)).toEqual(['qa1@example.com']);
    expect((await api.get(`/multi-smtp/subscribers/${bobId}`)).body.data.status).toBe('subscribed');

    // Test sends are not the campaign: still a draft, nothing counted.
    const after = (await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data;
    expect(after).toMatchObject({ status: 'draft', sentCount: 0, progress: { sent: 0, queued: 0 } });
  });

  it('renders with sample data, or the test address when given none', async () => {
    const campaign = await createCampaign(api, campaignBody({ html: '<p>{{ recipient.email }} / {{ recipient.name | default: "friend" }}</p>' }));
    const sample = await testSend(campaign.documentId, { to: ['qa@example.com'], sampleData: { name: 'Sam', email: 'sam@example.com', attributes: { plan: 'team' } } });
    expect(sample.body.data.subject).toBe('[Test] News for Sam (team)');
    const plain = await testSend(campaign.documentId, { to: ['qa@example.com'] });
    expect(plain.body.data.subject).toBe('[Test] News for  (free)');
    const [first, second] = await sink.waitForMessages(2);
    expect([first!.html, second!.html].sort()).toEqual(['<p>qa@example.com / friend</p>', '<p>sam@example.com / Sam</p>']);
  });

  it('reports a refused address with the SMTP reply, and still sends to the others', async () => {
    const campaign = await createCampaign(api, campaignBody());
    const response = await testSend(campaign.documentId, { to: ['nobody@example.com', 'qa@example.com'] });
    expect(response.status).toBe(200);
    const [refused, accepted] = response.body.data.results;
    expect(refused).toMatchObject({ to: 'nobody@example.com', accepted: false, status: 'bounced', reply: expect.stringMatching(/^550 5\.1\.1/) });
    expect(refused.error).toMatch(/^550/);
    expect(accepted).toMatchObject({ to: 'qa@example.com', accepted: true, status: 'sent' });
    expect((await sink.waitForMessages(1)).map((message) => message.to)).toEqual([['qa@example.com']]);
  });

  it("goes through a chosen server instead of the campaign's group", async () => {
    const campaign = await createCampaign(api, campaignBody());
    const response = await testSend(campaign.documentId, { to: ['qa@example.com'], server: otherServerId });
    expect(response.body.data.results[0]).toMatchObject({ accepted: true, server: { id: otherServerId, name: 'other-sink' } });
    expect(await otherSink.waitForMessages(1)).toHaveLength(1);
    expect(sink.messages).toHaveLength(0);
  });

  it("goes through the campaign's own group", async () => {
    const campaign = await createCampaign(api, campaignBody({ group: otherGroupId }));
    const response = await testSend(campaign.documentId, { to: ['qa@example.com'] });
    expect(response.body.data.results[0]).toMatchObject({ accepted: true, server: { name: 'other-sink' } });
    expect(await otherSink.waitForMessages(1)).toHaveLength(1);
    expect(sink.messages).toHaveLength(0);
  });

  it.each([
    ['no address', { to: [] }, 'to', /at least one/],
    ['too many addresses', { to: Array.from({ length: 11 }, (_, i) => `qa${i}@example.com`) }, 'to', /at most 10/],
    ['a bad address', { to: ['qa@example.com', 'not an address'] }, 'to.1', /valid email/],
    ['no "to" at all', {}, 'to', /required/],
    ['an unknown server', { to: ['qa@example.com'], server: 'nope0000000000000000000' }, 'server', /does not exist/],
    ['an unknown subscriber', { to: ['qa@example.com'], subscriberId: 'nope0000000000000000000' }, 'subscriberId', /does not exist/],
    ['an unknown field', { to: ['qa@example.com'], cc: ['x@example.com'] }, 'cc', /not a known field/],
  ])('answers 400 for %s and sends nothing', async (_label, body, field, reason) => {
    const campaign = await createCampaign(api, campaignBody());
    const response = await testSend(campaign.documentId, body);
    expect(response.status).toBe(400);
    expect(fieldErrors(response.body)[field]).toMatch(reason);
    expect(sink.messages).toHaveLength(0);
  });

  it('refuses a broken template before sending anything, naming the part and line', async () => {
    const campaign = await createCampaign(api, campaignBody({ html: '<p>ok</p>\n\n<p>{{ recipient.name | bogus }}</p>' }));
    const response = await testSend(campaign.documentId, { to: ['qa@example.com'] });
    expect(response.status).toBe(400);
    expect(response.body.error.details.errors).toEqual([expect.objectContaining({ path: ['html'], line: 3 })]);
    expect(sink.messages).toHaveLength(0);
  });
});
