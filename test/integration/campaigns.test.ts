import { createCampaign, createList, createSubscriber, fieldErrors, readyCampaign } from '../helpers/campaigns';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

describe('campaigns admin API: CRUD, bad input, permissions, preview and template check', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let listId: string;

  beforeAll(async () => {
    // No worker: nothing here sends, and a started campaign stays where the test put it.
    app = await startStrapi({ pluginConfig: { worker: { enabled: false }, publicUrl: 'https://news.example' } });
    api = asAdmin(app);
    listId = (await createList(api, 'Customers')).documentId;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('creates a draft with defaults, reads, lists, updates and deletes it', async () => {
    const response = await api.post('/multi-smtp/campaigns', { name: 'Welcome' });
    expect(response.status).toBe(201);
    const campaign = response.body.data;
    expect(campaign).toMatchObject({
      name: 'Welcome',
      status: 'draft',
      subject: null,
      fromAddress: null,
      audience: null,
      group: null,
      trackOpens: false,
      tags: [],
      editable: true,
      actions: ['start', 'schedule'],
      progress: { total: 0, sent: 0, inFlight: 0, ratePerSec: 0, etaSeconds: null, percent: 0 },
    });

    const updated = await api.put(`/multi-smtp/campaigns/${campaign.documentId}`, {
      subject: 'Hi {{ recipient.name }}',
      fromAddress: 'news@shop.example',
      replyTo: 'help@shop.example',
      audience: { type: 'lists', lists: [listId], filters: [{ attribute: 'plan', operator: 'eq', value: 'pro' }] },
      tags: ['spring', 'spring', 'promo'],
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({
      subject: 'Hi {{ recipient.name }}',
      replyTo: 'help@shop.example',
      audience: { type: 'lists', lists: [listId], filters: [{ attribute: 'plan', operator: 'eq', value: 'pro' }] },
      tags: ['spring', 'promo'],
    });

    const fetched = await api.get(`/multi-smtp/campaigns/${campaign.documentId}`);
    expect(fetched.body.data.fromAddress).toBe('news@shop.example');

    expect((await api.delete(`/multi-smtp/campaigns/${campaign.documentId}`)).status).toBe(204);
    expect((await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).status).toBe(404);
    expect((await api.put(`/multi-smtp/campaigns/${campaign.documentId}`, { name: 'x' })).status).toBe(404);
  });

  it('lists with search, status filter, sort and pagination', async () => {
    await createCampaign(api, { name: 'Alpha letter', subject: 'About alpacas' });
    await createCampaign(api, { name: 'Beta letter' });
    await createCampaign(api, { name: 'Gamma letter' });

    const search = await api.get('/multi-smtp/campaigns?q=alpaca');
    expect(search.body.data.map((c: { name: string }) => c.name)).toEqual(['Alpha letter']);

    const sorted = await api.get('/multi-smtp/campaigns?q=letter&sort=name:desc&pageSize=2');
    expect(sorted.body.data.map((c: { name: string }) => c.name)).toEqual(['Gamma letter', 'Beta letter']);
    expect(sorted.body.meta.pagination).toEqual({ page: 1, pageSize: 2, pageCount: 2, total: 3 });

    expect((await api.get('/multi-smtp/campaigns?q=letter&status=draft,scheduled')).body.meta.pagination.total).toBe(3);
    expect((await api.get('/multi-smtp/campaigns?q=letter&status=sending')).body.data).toEqual([]);

    const badStatus = await api.get('/multi-smtp/campaigns?status=sent');
    expect(badStatus.status).toBe(400);
    expect(fieldErrors(badStatus.body)['status.0']).toMatch(/one or more of: draft, scheduled/);
    const badSort = await api.get('/multi-smtp/campaigns?sort=subject:up');
    expect(badSort.status).toBe(400);
    expect(fieldErrors(badSort.body).sort).toMatch(/field:asc or field:desc/);
  });

  it.each([
    ['missing name', {}, 'name', /required/],
    ['bad sender', { name: 'x', fromAddress: 'not-an-address' }, 'fromAddress', /valid email/],
    ['bad reply-to', { name: 'x', replyTo: 'a@' }, 'replyTo', /valid email/],
    ['CR/LF in subject', { name: 'x', subject: 'Hi\r\nBcc: victim@example.com' }, 'subject', /line break/],
    ['unknown audience type', { name: 'x', audience: { type: 'everyone' } }, 'audience.type', /lists|collection/],
    ['audience without lists', { name: 'x', audience: { type: 'lists', lists: [] } }, 'audience.lists', /at least one/],
    ['bad filter operator', { name: 'x', audience: { type: 'lists', lists: ['a'], filters: [{ attribute: 'plan', operator: 'like' }] } }, 'audience.filters.0.operator', /one of/],
    ['bad collection uid', { name: 'x', audience: { type: 'collection', uid: 'users' } }, 'audience.uid', /collection type UID/],
    ['bad date', { name: 'x', scheduledAt: 'tomorrow' }, 'scheduledAt', /ISO date-time/],
    ['too many tags', { name: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags', /at most 20/],
    ['tracking not a boolean', { name: 'x', trackOpens: 'yes' }, 'trackOpens', /true or false/],
    ['unknown field', { name: 'x', status: 'sending' }, 'status', /not a known field/],
    ['unknown group', { name: 'x', group: 'nope0000000000000000000' }, 'group', /does not exist/],
  ])('answers 400 naming the field for %s', async (_label, body, field, reason) => {
    const before = (await api.get('/multi-smtp/campaigns')).body.meta.pagination.total;
    const response = await api.post('/multi-smtp/campaigns', body);
    expect(response.status).toBe(400);
    expect(fieldErrors(response.body)[field]).toMatch(reason);
    expect((await api.get('/multi-smtp/campaigns')).body.meta.pagination.total).toBe(before);
  });

  it('answers 400 on a bad update and 404 for an unknown campaign', async () => {
    const campaign = await createCampaign(api, { name: 'Edits' });
    const response = await api.put(`/multi-smtp/campaigns/${campaign.documentId}`, { fromAddress: 'x', name: '' });
    expect(response.status).toBe(400);
    expect(fieldErrors(response.body)).toEqual({ fromAddress: expect.stringMatching(/valid email/), name: expect.stringMatching(/required/) });
    expect((await api.get('/multi-smtp/campaigns/unknown000000000000000')).status).toBe(404);
    expect((await api.post('/multi-smtp/campaigns/unknown000000000000000/start')).status).toBe(404);
  });

  it('checks permissions: read, manage and send are separate', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId], { name: 'Permissions' }));
    const reader = asAdmin(app, await app.createAdmin(['campaigns.read']));
    const writer = asAdmin(app, await app.createAdmin(['campaigns.read', 'campaigns.manage']));
    const nobody = asAdmin(app, await app.createAdmin(['servers.read']));

    expect((await reader.get('/multi-smtp/campaigns')).status).toBe(200);
    expect((await reader.get(`/multi-smtp/campaigns/${campaign.documentId}/progress`)).status).toBe(200);
    expect((await reader.post('/multi-smtp/campaigns/validate-template', { html: '<p>{{ x }}</p>' })).status).toBe(200);
    expect((await reader.post('/multi-smtp/campaigns', { name: 'no' })).status).toBe(403);
    expect((await reader.put(`/multi-smtp/campaigns/${campaign.documentId}`, { name: 'no' })).status).toBe(403);
    expect((await reader.delete(`/multi-smtp/campaigns/${campaign.documentId}`)).status).toBe(403);

    expect((await writer.put(`/multi-smtp/campaigns/${campaign.documentId}`, { name: 'Renamed' })).status).toBe(200);
    for (const action of ['start', 'pause', 'resume', 'cancel', 'unschedule']) {
      expect((await writer.post(`/multi-smtp/campaigns/${campaign.documentId}/${action}`)).status).toBe(403);
    }
    expect((await writer.post(`/multi-smtp/campaigns/${campaign.documentId}/schedule`, { scheduledAt: '2099-01-01T00:00:00Z' })).status).toBe(403);
    expect((await writer.post(`/multi-smtp/campaigns/${campaign.documentId}/test-send`, { to: ['a@example.com'] })).status).toBe(403);

    expect((await nobody.get('/multi-smtp/campaigns')).status).toBe(403);
    expect((await app.http().get('/multi-smtp/campaigns')).status).toBe(401);
  });

  describe('template check and preview', () => {
    it('validates templates for the editor: ok, or each error with its part, line and column', async () => {
      const ok = await api.post('/multi-smtp/campaigns/validate-template', { subject: 'Hi {{ recipient.name }}', html: '<p>{{ unsubscribe_url }}</p>' });
      expect(ok.status).toBe(200);
      expect(ok.body.data).toEqual({ ok: true, errors: [] });

      const broken = await api.post('/multi-smtp/campaigns/validate-template', {
        subject: 'Hi {{ recipient.name | nosuchfilter }}',
        html: '<p>fine</p>\n<p>{% if recipient.name %}unclosed</p>',
      });
      expect(broken.status).toBe(200);
      expect(broken.body.data.ok).toBe(false);
      expect(broken.body.data.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'subject', line: 1, column: expect.any(Number), message: expect.stringMatching(/nosuchfilter/) }),
          expect.objectContaining({ field: 'html', line: 2, column: expect.any(Number) }),
        ])
      );

      const bad = await api.post('/multi-smtp/campaigns/validate-template', { html: 42 });
      expect(bad.status).toBe(400);
      expect(fieldErrors(bad.body).html).toMatch(/string/);
    });

    it("previews for a chosen subscriber with their data escaped, for sample data, and unsaved content", async () => {
      const subscriber = await createSubscriber(api, {
        email: 'bob@example.com',
        name: '<b>Bob</b>',
        lists: [listId],
        attributes: { plan: 'pro' },
      });
      const campaign = await createCampaign(
        api,
        readyCampaign([listId], {
          name: 'Preview me',
          subject: 'For {{ recipient.name }} on {{ recipient.attributes.plan }}',
          preheader: 'Inside: {{ campaign.name }}',
          html: '<html><body><p>Hi {{ recipient.name }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>',
        })
      );

      const forBob = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/preview`, { subscriberId: subscriber.documentId });
      expect(forBob.status).toBe(200);
      expect(forBob.body.data.subject).toBe('For <b>Bob</b> on pro');
      expect(forBob.body.data.html).toContain('<p>Hi &lt;b&gt;Bob&lt;/b&gt;</p>');
      expect(forBob.body.data.html).not.toContain('<b>Bob</b>');
      expect(forBob.body.data.html).toContain('Inside: Preview me');
      // The preview's link is inert: it looks like the real one but unsubscribes no one.
      expect(forBob.body.data.html).toContain('href="https://news.example/api/multi-smtp/unsubscribe/preview"');
      const clicked = await app.http().post('/api/multi-smtp/unsubscribe/preview').type('form').send({ 'List-Unsubscribe': 'One-Click' });
      expect(clicked.status).toBeGreaterThanOrEqual(400);
      expect(clicked.status).toBeLessThan(500);
      expect((await api.get(`/multi-smtp/subscribers/${subscriber.documentId}`)).body.data.status).toBe('subscribed');
      expect(forBob.body.data.text).toContain('Hi <b>Bob</b>');
      expect(forBob.body.data.recipient).toEqual({ email: 'bob@example.com', name: '<b>Bob</b>', subscriberId: subscriber.documentId });

      const sample = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/preview`, {
        sampleData: { email: 'sam@example.com', name: 'Sam', attributes: { plan: 'free' } },
      });
      expect(sample.body.data.subject).toBe('For Sam on free');

      const fallback = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/preview`, {});
      expect(fallback.body.data.recipient.email).toBe('preview@example.com');

      const unsaved = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/preview`, {
        content: { subject: 'Draft {{ recipient.email }}', html: '<p>new</p>' },
        sampleData: { email: 'sam@example.com' },
      });
      expect(unsaved.body.data).toMatchObject({ subject: 'Draft sam@example.com', text: 'new' });
      // The stored campaign is unchanged.
      expect((await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data.html).toContain('Hi {{ recipient.name }}');
    });

    it('answers 400 for a broken template in a preview, naming the part, line and column', async () => {
      const campaign = await createCampaign(api, { name: 'Broken', subject: 'ok', html: '<p>one</p>\n<p>{{ recipient.name | nope }}</p>' });
      const response = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/preview`, {});
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(/^Template error: html: line 2, column \d+/);
      expect(response.body.error.details.errors).toEqual([
        expect.objectContaining({ path: ['html'], name: 'TemplateError', line: 2, column: expect.any(Number) }),
      ]);

      const fine = await createCampaign(api, { name: 'Fine', subject: 'ok', html: '<p>ok</p>' });
      const unknown = await api.post(`/multi-smtp/campaigns/${fine.documentId}/preview`, { subscriberId: 'nobody000000000000000000' });
      expect(unknown.status).toBe(400);
      expect(fieldErrors(unknown.body).subscriberId).toBe('does not exist');
      const badSample = await api.post(`/multi-smtp/campaigns/${fine.documentId}/preview`, { sampleData: { email: 'x' } });
      expect(badSample.status).toBe(400);
      expect(fieldErrors(badSample.body)['sampleData.email']).toMatch(/valid email/);
    });
  });
});
