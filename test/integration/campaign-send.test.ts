import { createCampaign, createList, createSubscriber, readyCampaign } from '../helpers/campaigns';
import {
  campaignAction,
  deliveriesOf,
  getCampaign,
  groupWithSink,
  repeated,
  suppress,
  waitForCampaignStatus,
} from '../helpers/campaign-sending';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep, waitFor } from '../helpers/wait';

const MEMBER_UID = 'api::member.member';

/**
 * Campaigns sent for real: Strapi with the plugin's runner and workers, Redis, and an SMTP sink.
 * Small pages and a small in-flight bound make even these audiences go out in many batches.
 */
describe('sending campaigns', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sink: TestSmtpServer;
  let group: string;

  const audiences = () => app.strapi.plugin('multi-smtp').service('audiences');
  const counts = (campaignId: string) => app.strapi.plugin('multi-smtp').service('engine').get().campaignCounts(campaignId);
  const sendAndWait = async (campaign: string) => {
    await campaignAction(api, campaign, 'start');
    return waitForCampaignStatus(api, campaign, 'completed');
  };
  /** Exactly these addresses got the campaign, each once. */
  const expectEachOnce = (campaign: string, expected: string[]) => {
    const deliveries = deliveriesOf([sink], campaign);
    expect(repeated(deliveries)).toEqual([]);
    expect([...deliveries.keys()].sort()).toEqual([...expected].sort());
  };

  beforeAll(async () => {
    sink = await startSmtpServer();
    app = await startStrapi({
      pluginConfig: {
        publicUrl: 'https://news.example.test',
        worker: { enabled: true, concurrency: 4 },
        campaigns: { pageSize: 7, maxInFlight: 15 },
      },
    });
    api = asAdmin(app);
    group = await groupWithSink(api, sink, 'newsletter');
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await sink?.close();
  });

  it('sends a list campaign to every subscribed, unsuppressed member of any of its lists, once each', async () => {
    const spring = (await createList(api, 'Spring')).documentId;
    const autumn = (await createList(api, 'Autumn')).documentId;
    const other = (await createList(api, 'Other')).documentId;
    const expected: string[] = [];
    for (let index = 1; index <= 30; index += 1) {
      const email = `reader${String(index).padStart(2, '0')}@example.com`;
      await createSubscriber(api, { email, name: `Reader <${index}>`, lists: [spring], attributes: { plan: index % 2 ? 'gold' : 'free' } });
      expected.push(email);
    }
    await createSubscriber(api, { email: 'both@example.com', name: 'Both', lists: [spring, autumn] });
    await createSubscriber(api, { email: 'autumn-only@example.com', lists: [autumn] });
    expected.push('both@example.com', 'autumn-only@example.com');
    // Not sent to, and counted as skipped:
    await createSubscriber(api, { email: 'left@example.com', lists: [spring], status: 'unsubscribed' });
    await createSubscriber(api, { email: 'bounced@example.com', lists: [spring], status: 'bounced' });
    await createSubscriber(api, { email: 'blocked@example.com', lists: [spring] });
    await createSubscriber(api, { email: 'someone@blocked-domain.test', lists: [autumn] });
    await suppress(api, 'blocked@example.com');
    await suppress(api, 'blocked-domain.test');
    // Not in the audience at all:
    await createSubscriber(api, { email: 'elsewhere@example.com', lists: [other] });

    const audience = { type: 'lists', lists: [spring, autumn] };
    expect(await audiences().count(audience)).toEqual({ matched: 36, skipped: 4, recipients: 32 });
    expect(await audiences().count({ ...audience, filters: [{ attribute: 'plan', operator: 'eq', value: 'GOLD' }] })).toEqual({
      matched: 15,
      skipped: 0,
      recipients: 15,
    });

    const campaign = (
      await createCampaign(
        api,
        readyCampaign([spring, autumn], {
          name: 'Spring news',
          group,
          subject: 'Hello {{ recipient.name | default: "friend" }}',
          html: '<p>Hi {{ recipient.name }}, your plan: {{ recipient.attributes.plan | default: "none" }}</p><a href="{{ unsubscribe_url }}">Leave</a>',
        })
      )
    ).documentId;
    const done = await sendAndWait(campaign);
    expectEachOnce(campaign, expected);
    expect(done).toMatchObject({ totalRecipients: 36, queuedCount: 32, sentCount: 32, skippedCount: 4, failedCount: 0 });
    expect(done.completedAt).toBeTruthy();

    const first = sink.messages.find((message) => message.to[0] === 'reader01@example.com')!;
    expect(first.subject).toBe('Hello Reader <1>');
    expect(first.html).toContain('<p>Hi Reader &lt;1&gt;, your plan: gold</p>');
    expect(first.headers['x-campaign-id']).toBe(campaign);
    expect(first.headers['list-unsubscribe']).toMatch(/^<https:\/\/news\.example\.test\/api\/multi-smtp\/unsubscribe\/[A-Za-z0-9_-]+>$/);
    expect(first.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const autumnOnly = sink.messages.find((message) => message.to[0] === 'autumn-only@example.com')!;
    expect(autumnOnly.subject).toBe('Hello friend');
    // Nothing of the campaign is left in Redis once it is complete.
    expect(await counts(campaign)).toMatchObject({ queued: 0, inFlight: 0 });
  }, 90_000);

  it('sends to the entries of a collection type: published, filtered, each address once', async () => {
    const members = app.strapi.documents(MEMBER_UID as never);
    const add = async (data: Record<string, unknown>, publish = true) => {
      const entry = (await members.create({ data } as never)) as { documentId: string };
      if (publish) await members.publish({ documentId: entry.documentId } as never);
    };
    const expected: string[] = [];
    for (let index = 1; index <= 12; index += 1) {
      await add({ username: `member${index}`, email: `member${index}@example.org`, plan: 'pro', visits: index });
      expected.push(`member${index}@example.org`);
    }
    await add({ username: 'Dup', email: 'Dup@Example.org' });
    await add({ username: 'dup again', email: 'dup@example.org' }); // the same address: skipped as a duplicate
    expected.push('dup@example.org');
    await add({ username: 'draft', email: 'draft@example.org' }, false); // never published: not in the audience
    await add({ username: 'blocked', email: 'blocked@example.org', blocked: true }); // filtered out
    await add({ username: 'suppressed', email: 'suppressed@example.org' });
    await suppress(api, 'suppressed@example.org');

    const audience = { type: 'collection', uid: MEMBER_UID, filters: { blocked: { $ne: true } } };
    expect(audiences().sources()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ uid: MEMBER_UID, emailFields: ['email'], attributes: expect.arrayContaining(['username', 'plan', 'visits']) }),
      ])
    );
    expect(audiences().sources().map((source: { uid: string }) => source.uid)).not.toContain('plugin::multi-smtp.subscriber');
    expect(await audiences().count(audience)).toEqual({ matched: 15, skipped: 2, recipients: 13 });

    const campaign = (
      await createCampaign(api, {
        ...readyCampaign([], { name: 'Members', group, subject: 'For {{ recipient.name }} ({{ recipient.attributes.plan }})' }),
        audience,
      })
    ).documentId;
    const done = await sendAndWait(campaign);
    expectEachOnce(campaign, expected);
    expect(done).toMatchObject({ totalRecipients: 15, sentCount: 13, skippedCount: 2 });
    const one = sink.messages.find((message) => message.to[0] === 'member3@example.org' && message.headers['x-campaign-id'] === campaign)!;
    expect(one.subject).toBe('For member3 (pro)');
    // The earlier entry wins a duplicate: its name is used.
    expect(sink.messages.find((message) => message.to[0] === 'dup@example.org')!.subject).toBe('For Dup ()');
  }, 90_000);

  it('sends to the users-permissions users, with Strapi filters, each once (blocked left out by the filter, suppressed skipped)', async () => {
    const USERS_UID = 'plugin::users-permissions.user';
    const users = app.strapi.documents(USERS_UID as never);
    const role = (await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: 'authenticated' } })) as { id: number };
    const expected: string[] = [];
    for (let index = 1; index <= 5; index += 1) {
      await users.create({ data: { username: `user${index}`, email: `user${index}@example.net`, provider: 'local', confirmed: true, role: role.id } } as never);
      expected.push(`user${index}@example.net`);
    }
    await users.create({ data: { username: 'blocked-user', email: 'blocked-user@example.net', provider: 'local', blocked: true, role: role.id } } as never);
    await users.create({ data: { username: 'gone-user', email: 'gone-user@example.net', provider: 'local', role: role.id } } as never);
    await suppress(api, 'gone-user@example.net');

    expect(audiences().sources().map((source: { uid: string }) => source.uid)).toContain(USERS_UID);
    const audience = { type: 'collection', uid: USERS_UID, nameField: 'username', filters: { blocked: { $ne: true } } };
    expect(await audiences().count(audience)).toEqual({ matched: 6, skipped: 1, recipients: 5 });

    const campaign = (
      await createCampaign(api, { ...readyCampaign([], { name: 'Users', group, subject: 'Hello {{ recipient.name }}' }), audience })
    ).documentId;
    const done = await sendAndWait(campaign);
    expectEachOnce(campaign, expected);
    expect(done).toMatchObject({ sentCount: 5, skippedCount: 1 });
    expect(sink.messages.find((message) => message.to[0] === 'user2@example.net' && message.headers['x-campaign-id'] === campaign)!.subject).toBe('Hello user2');
  }, 90_000);

  it('refuses bad audiences with a 400 naming the field', async () => {
    const refusal = async (audience: unknown) => {
      try {
        await audiences().count(audience);
      } catch (error) {
        return (error as { details: { errors: { path: string[]; message: string }[] } }).details.errors.map((entry) => [entry.path.join('.'), entry.message]);
      }
      throw new Error('no refusal');
    };
    expect(await refusal({ type: 'collection', uid: MEMBER_UID, filters: { nope: { $eq: 1 } } })).toEqual([
      ['audience.filters.nope', `"nope" is not an attribute of ${MEMBER_UID}`],
    ]);
    expect(await refusal({ type: 'collection', uid: MEMBER_UID, filters: { secret: { $eq: 'x' } } })).toEqual([
      ['audience.filters.secret', '"secret" is private and cannot be filtered on'],
    ]);
    expect(await refusal({ type: 'collection', uid: MEMBER_UID, filters: { plan: { $regex: 'x' } } })).toEqual([
      ['audience.filters.plan.$regex', '$regex is not a filter operator'],
    ]);
    expect(await refusal({ type: 'collection', uid: 'plugin::multi-smtp.subscriber' })).toEqual([
      ['audience.uid', 'plugin::multi-smtp.subscriber is not a collection type with an email attribute'],
    ]);
    expect(await refusal({ type: 'lists', lists: ['nosuchlist000000000000'] })).toEqual([
      ['audience.lists', 'no mailing list has the id nosuchlist000000000000'],
    ]);
    expect((await refusal({ type: 'lists', lists: [] }))[0]![0]).toBe('audience.lists');

    // The same through the admin API the editor's audience picker uses.
    const bad = await api.post('/multi-smtp/audiences/count', { audience: { type: 'collection', uid: MEMBER_UID, filters: { nope: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.errors[0].path).toEqual(['audience', 'filters', 'nope']);
    expect((await api.post('/multi-smtp/audiences/count', {})).status).toBe(400);
    const good = await api.post('/multi-smtp/audiences/count', { audience: { type: 'collection', uid: MEMBER_UID } });
    expect(good.status).toBe(200);
    expect(good.body.data).toEqual({ matched: expect.any(Number), skipped: expect.any(Number), recipients: expect.any(Number) });
    const sources = await api.get('/multi-smtp/audiences/sources');
    expect(sources.body.data.map((source: { uid: string }) => source.uid)).toContain(MEMBER_UID);
    const reader = asAdmin(app, await app.createAdmin(['campaigns.read']));
    expect((await reader.get('/multi-smtp/audiences/sources')).status).toBe(200);
    // Counting any collection's rows and exporting every address are for writers, not readers.
    expect((await reader.post('/multi-smtp/audiences/count', { audience: { type: 'collection', uid: MEMBER_UID } })).status).toBe(403);
    expect((await reader.get('/multi-smtp/subscribers/export')).status).toBe(403);
    const writer = asAdmin(app, await app.createAdmin(['campaigns.read', 'campaigns.manage']));
    expect((await writer.post('/multi-smtp/audiences/count', { audience: { type: 'collection', uid: MEMBER_UID } })).status).toBe(200);
    expect((await writer.get('/multi-smtp/subscribers/export')).status).toBe(200);
    const outsider = asAdmin(app, await app.createAdmin(['servers.read']));
    expect((await outsider.post('/multi-smtp/audiences/count', { audience: { type: 'collection', uid: MEMBER_UID } })).status).toBe(403);
  });

  it('fails a campaign whose template breaks for one recipient mid-way, with the error, and keeps running', async () => {
    const list = (await createList(api, 'Tricky')).documentId;
    for (let index = 1; index <= 10; index += 1) await createSubscriber(api, { email: `fine${index}@example.com`, lists: [list], attributes: { n: 2 } });
    // Renders fine for the sample data checked at start, but runs past the memory limit for this one.
    await createSubscriber(api, { email: 'huge@example.com', lists: [list], attributes: { n: 100_000_000 } });
    const campaign = (
      await createCampaign(api, readyCampaign([list], { name: 'Tricky', group, html: '<p>{% for i in (1..recipient.attributes.n) %}x{% endfor %}</p>' }))
    ).documentId;
    await campaignAction(api, campaign, 'start');
    const failed = await waitForCampaignStatus(api, campaign, 'failed');
    expect(failed.lastError).toMatch(/^The template failed while sending: .*html/);
    expect(deliveriesOf([sink], campaign).has('huge@example.com')).toBe(false);
    // The process goes on: the API answers and the next campaign is sent.
    expect((await api.get('/multi-smtp/campaigns')).status).toBe(200);
  }, 60_000);

  describe('pause, resume and cancel', () => {
    let list: string;

    beforeAll(async () => {
      list = (await createList(api, 'Slow readers')).documentId;
      for (let index = 1; index <= 60; index += 1) await createSubscriber(api, { email: `slow${index}@example.net`, lists: [list] });
    }, 60_000);

    beforeEach(() => {
      // About a dozen messages a second over the server's 4 connections: slow enough to stop mid-way.
      sink.setDelay({ data: 300 });
    });
    afterEach(() => sink.setDelay(0));

    const delivered = (campaign: string) => [...deliveriesOf([sink], campaign).values()].reduce((sum, count) => sum + count, 0);

    it('pause stops deliveries within seconds; resume sends everyone else, once', async () => {
      const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Pausable', group }))).documentId;
      await campaignAction(api, campaign, 'start');
      await waitFor('a few deliveries', () => delivered(campaign) >= 8, 20_000);
      await campaignAction(api, campaign, 'pause');
      const pausedAt = Date.now();
      // Sends under way finish; the state reaches every worker within a second; then nothing more.
      await sleep(2500);
      const afterPause = delivered(campaign);
      await sleep(3000);
      expect(delivered(campaign)).toBe(afterPause);
      expect(afterPause).toBeLessThan(60);
      expect((await getCampaign(api, campaign)).status).toBe('paused');
      const lastBeforeResume = Math.max(...sink.messages.filter((m) => m.headers['x-campaign-id'] === campaign).map((m) => m.receivedAt));
      expect(lastBeforeResume - pausedAt).toBeLessThan(2500);

      await campaignAction(api, campaign, 'resume');
      const done = await waitForCampaignStatus(api, campaign, 'completed', 60_000);
      const deliveries = deliveriesOf([sink], campaign);
      expect(repeated(deliveries)).toEqual([]);
      expect(deliveries.size).toBe(60);
      expect(done).toMatchObject({ sentCount: 60, skippedCount: 0 });
    }, 120_000);

    it('cancel stops the campaign for good: the rest is skipped, never sent', async () => {
      const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Cancellable', group }))).documentId;
      await campaignAction(api, campaign, 'start');
      await waitFor('a few deliveries', () => delivered(campaign) >= 8, 20_000);
      await campaignAction(api, campaign, 'cancel');
      await sleep(2500);
      const afterCancel = delivered(campaign);
      await sleep(3000);
      expect(delivered(campaign)).toBe(afterCancel);
      expect(afterCancel).toBeLessThan(60);
      expect(repeated(deliveriesOf([sink], campaign))).toEqual([]);
      // Messages that were queued when it was cancelled finish as skipped.
      const final = await waitFor('queued messages to be skipped', async () => {
        const live = await counts(campaign);
        return live.inFlight === 0 ? live : null;
      });
      expect(final.sent).toBe(afterCancel);
      expect(final.skipped).toBe(final.queued - final.sent);
      const row = await getCampaign(api, campaign);
      expect(row.status).toBe('cancelled');
      expect(row.completedAt).toBeTruthy();
    }, 120_000);
  });
});
