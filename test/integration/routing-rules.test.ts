import { ACTIONS } from '../../shared/permissions';
import { createCampaign, createList, createSubscriber, fieldErrors, readyCampaign } from '../helpers/campaigns';
import { campaignAction, groupWithSink, waitForCampaignStatus } from '../helpers/campaign-sending';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * Routing rules on a real Strapi with SMTP sinks: rules send mail by tag and by recipient domain to
 * their groups' sinks, an explicit group wins, unmatched mail takes the default group, a campaign's
 * mail matches the `marketing` type; the admin API validates rules and is guarded by its actions;
 * the tester answers as the engine decides; the delivery log says which rule and which servers
 * were passed over and why.
 */
describe('routing rules', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let sinks: { main: TestSmtpServer; marketing: TestSmtpServer; gmail: TestSmtpServer };
  const groups: Record<string, string> = {};
  const rules: Record<string, string> = {};

  const mailer = () => app.strapi.plugin('multi-smtp').service('mailer');
  /** The sink that received the message with this id, by name. */
  const sinkOf = async (id: string) =>
    waitFor(`message ${id} at a sink`, () => {
      const found = Object.entries(sinks).find(([, sink]) => sink.messages.some((message) => message.headers['x-multi-smtp-id'] === id));
      return found?.[0];
    });
  /** The delivery log entry once it shows a final status. */
  const logged = (id: string) =>
    waitFor(`log entry of ${id}`, async () => {
      const response = await api.get(`/multi-smtp/messages/${id}`);
      return response.status === 200 && response.body.data.status === 'sent' ? response.body.data : undefined;
    });
  const createRule = async (body: object) => {
    const response = await api.post('/multi-smtp/routing-rules', body);
    if (response.status !== 201) throw new Error(`creating a rule: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.data.documentId as string;
  };

  beforeAll(async () => {
    sinks = { main: await startSmtpServer(), marketing: await startSmtpServer(), gmail: await startSmtpServer() };
    app = await startStrapi({ pluginConfig: { worker: { enabled: true, concurrency: 4 } } });
    api = asAdmin(app);
    groups.main = await groupWithSink(api, sinks.main, 'main');
    expect((await api.put(`/multi-smtp/groups/${groups.main}`, { isDefault: true })).status).toBe(200);
    groups.marketing = await groupWithSink(api, sinks.marketing, 'marketing');
    groups.gmail = await groupWithSink(api, sinks.gmail, 'gmail-pool');
    // A second server of the gmail pool, suspended: never used, and named in the log as passed over.
    const paused = await api.post('/multi-smtp/servers', {
      name: 'gmail-paused',
      host: sinks.main.host,
      port: sinks.main.port,
      security: 'none',
      weight: 10,
      group: groups.gmail,
    });
    expect(paused.status).toBe(201);
    expect((await api.post(`/multi-smtp/servers/${paused.body.data.documentId}/suspend`, { minutes: 60, reason: 'blocklisted' })).status).toBe(200);

    rules.newsletter = await createRule({ name: 'Newsletters', conditions: { tags: ['newsletter'] }, target: { kind: 'group', id: groups.marketing } });
    rules.gmail = await createRule({
      name: 'Gmail via pool',
      conditions: { recipientDomains: ['gmail.com', '*.gmail.com'] },
      target: { kind: 'group', id: groups.gmail },
    });
    rules.marketing = await createRule({ name: 'Marketing mail', conditions: { tags: ['marketing'] }, target: { kind: 'group', id: groups.marketing } });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all(Object.values(sinks ?? {}).map((sink) => sink.close()));
  });

  it('lists the rules in order with their targets', async () => {
    const response = await api.get('/multi-smtp/routing-rules');
    expect(response.status).toBe(200);
    expect(response.body.data.map((rule: { name: string; position: number }) => [rule.name, rule.position])).toEqual([
      ['Newsletters', 0],
      ['Gmail via pool', 1],
      ['Marketing mail', 2],
    ]);
    expect(response.body.data[1].target).toEqual({ kind: 'group', id: groups.gmail, name: 'gmail-pool' });
  });

  it('routes by tag and by recipient-domain wildcard; an explicit group wins; no match takes the default group', async () => {
    const tagged = await mailer().send({ to: 'ann@example.org', subject: 'news', text: 'x' }, { tags: ['Newsletter'] });
    const gmail = await mailer().send({ to: 'bob@mail.gmail.com', subject: 'hi', text: 'x' });
    const explicit = await mailer().send({ to: 'carl@gmail.com', subject: 'hi', text: 'x' }, { group: 'main' });
    const unmatched = await mailer().send({ to: 'dan@example.org', subject: 'hi', text: 'x' });
    // Several recipient domains: the gmail rule needs every one to match.
    const mixed = await mailer().send({ to: ['eve@gmail.com', 'fay@example.org'], subject: 'hi', text: 'x' });

    expect(await sinkOf(tagged.id)).toBe('marketing');
    expect(await sinkOf(gmail.id)).toBe('gmail');
    expect(await sinkOf(explicit.id)).toBe('main');
    expect(await sinkOf(unmatched.id)).toBe('main');
    expect(await sinkOf(mixed.id)).toBe('main');
    // The suspended server of the gmail pool (its host is the main sink) got nothing of the pool's mail.
    expect(sinks.main.messages.some((message) => message.headers['x-multi-smtp-id'] === gmail.id)).toBe(false);
  });

  it('refuses a bad tag before anything is queued', async () => {
    await expect(mailer().send({ to: 'a@example.org', subject: 'x', text: 'x' }, { tags: ['not a tag'] })).rejects.toMatchObject({
      errors: [{ path: ['tags', '0'] }],
    });
  });

  it('the delivery log says which rule chose the group and which servers were passed over and why', async () => {
    const gmail = await mailer().send({ to: 'gus@gmail.com', subject: 'log', text: 'x' });
    const entry = await logged(gmail.id);
    expect(entry.group).toBe('gmail-pool');
    expect(entry.decision.route).toEqual({ via: 'rule', ruleId: rules.gmail, ruleName: 'Gmail via pool' });
    expect(entry.decision.skips).toEqual([{ server: 'gmail-paused', reason: 'suspended: blocklisted' }]);

    const explicit = await mailer().send({ to: 'hal@gmail.com', subject: 'log', text: 'x' }, { group: 'main' });
    expect((await logged(explicit.id)).decision).toEqual({ route: { via: 'group' }, skips: [] });
    const unmatched = await mailer().send({ to: 'ida@example.org', subject: 'log', text: 'x' });
    expect((await logged(unmatched.id)).decision.route).toEqual({ via: 'default' });
  });

  it("sends a campaign without a group by the marketing type's rule, its gmail.com recipients by the earlier gmail rule", async () => {
    const list = (await createList(api, 'Routing')).documentId;
    await createSubscriber(api, { email: 'jo@example.org', lists: [list] });
    await createSubscriber(api, { email: 'kim@example.org', lists: [list] });
    // The same batch: split by target, this one through the gmail pool.
    await createSubscriber(api, { email: 'lou@gmail.com', lists: [list] });
    const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Ruled' }))).documentId;
    await campaignAction(api, campaign, 'start');
    await waitForCampaignStatus(api, campaign, 'completed');
    const received = sinks.marketing.messages.flatMap((message) => message.to);
    expect(received).toEqual(expect.arrayContaining(['jo@example.org', 'kim@example.org']));
    expect(received).not.toContain('lou@gmail.com');
    expect(sinks.gmail.messages.flatMap((message) => message.to)).toContain('lou@gmail.com');
    expect(sinks.main.messages.flatMap((message) => message.to)).not.toContain('jo@example.org');
  }, 60_000);

  it("routes campaign mail by a rule on the subscriber's own attribute (an audience segment), compared case-insensitively", async () => {
    const vip = await createRule({ name: 'VIP tier', conditions: { segments: [{ attribute: 'tier', value: 'VIP' }] }, target: { kind: 'group', id: groups.gmail } });
    try {
      expect((await api.put('/multi-smtp/routing-rules/order', { ids: [vip, rules.newsletter, rules.gmail, rules.marketing] })).status).toBe(200);
      const list = (await createList(api, 'Tiers')).documentId;
      await createSubscriber(api, { email: 'val@example.org', lists: [list], attributes: { tier: 'vip' } });
      await createSubscriber(api, { email: 'wes@example.org', lists: [list], attributes: { tier: 'basic' } });
      const campaign = (await createCampaign(api, readyCampaign([list], { name: 'Tiered' }))).documentId;
      await campaignAction(api, campaign, 'start');
      await waitForCampaignStatus(api, campaign, 'completed');
      const viaGmailPool = sinks.gmail.messages.flatMap((message) => message.to);
      const viaMarketing = sinks.marketing.messages.flatMap((message) => message.to);
      expect(viaGmailPool).toContain('val@example.org');
      expect(viaMarketing).not.toContain('val@example.org');
      expect(viaMarketing).toContain('wes@example.org');
      expect(viaGmailPool).not.toContain('wes@example.org');
    } finally {
      expect((await api.delete(`/multi-smtp/routing-rules/${vip}`)).status).toBe(204);
    }
  }, 60_000);

  it('answers "where would this message go?" as the engine decides', async () => {
    const ruled = await api.post('/multi-smtp/routing-rules/test', { from: 'site@example.com', to: ['lee@eu.gmail.com'] });
    expect(ruled.status).toBe(200);
    expect(ruled.body.data).toMatchObject({
      decision: 'rule',
      rule: { documentId: rules.gmail, name: 'Gmail via pool' },
      group: { documentId: groups.gmail, slug: 'gmail-pool' },
      server: null,
      summary: "Rule 'Gmail via pool' → group gmail-pool",
    });
    expect(ruled.body.data.fallbackChain.map((group: { slug: string }) => group.slug)).toEqual(['gmail-pool']);
    expect(ruled.body.data.servers).toEqual(
      expect.arrayContaining([
        { documentId: expect.any(String), name: 'gmail-pool-sink', group: 'gmail-pool', eligible: true, reason: null },
        { documentId: expect.any(String), name: 'gmail-paused', group: 'gmail-pool', eligible: false, reason: 'suspended: blocklisted' },
      ])
    );

    const explicit = await api.post('/multi-smtp/routing-rules/test', { to: ['lee@gmail.com'], group: 'main' });
    expect(explicit.body.data).toMatchObject({ decision: 'group', rule: null, group: { slug: 'main' } });
    const campaignMail = await api.post('/multi-smtp/routing-rules/test', { to: ['lee@example.org'], campaign: 'any-campaign' });
    expect(campaignMail.body.data).toMatchObject({ decision: 'rule', rule: { name: 'Marketing mail' } });
    const unmatched = await api.post('/multi-smtp/routing-rules/test', { to: ['lee@example.org'] });
    expect(unmatched.body.data).toMatchObject({ decision: 'default', group: { slug: 'main' } });

    const unknownGroup = await api.post('/multi-smtp/routing-rules/test', { to: ['lee@example.org'], group: 'nope' });
    expect(unknownGroup.status).toBe(400);
    expect(fieldErrors(unknownGroup.body)).toEqual({ group: 'does not exist' });
  });

  it('applies an edit and a new order to the next message', async () => {
    const edited = await api.put(`/multi-smtp/routing-rules/${rules.gmail}`, { conditions: { recipientDomains: ['*.example.net'] } });
    expect(edited.status).toBe(200);
    expect(edited.body.data.conditions.recipientDomains).toEqual(['*.example.net']);
    const moved = await mailer().send({ to: 'max@shop.example.net', subject: 'edited', text: 'x' });
    expect(await sinkOf(moved.id)).toBe('gmail');

    const order = await api.put('/multi-smtp/routing-rules/order', { ids: [rules.marketing, rules.gmail, rules.newsletter] });
    expect(order.status).toBe(200);
    expect(order.body.data.map((rule: { name: string }) => rule.name)).toEqual(['Marketing mail', 'Gmail via pool', 'Newsletters']);
    // Newsletter-tagged mail to .example.net: the gmail rule now comes first.
    const first = await mailer().send({ to: 'ned@shop.example.net', subject: 'order', text: 'x' }, { tags: ['newsletter'] });
    expect(await sinkOf(first.id)).toBe('gmail');

    const disabled = await api.put(`/multi-smtp/routing-rules/${rules.gmail}`, { enabled: false });
    expect(disabled.body.data.enabled).toBe(false);
    const after = await mailer().send({ to: 'ole@shop.example.net', subject: 'disabled', text: 'x' });
    expect(await sinkOf(after.id)).toBe('main');
  });

  it('answers 400 naming the field for bad rules', async () => {
    const badWildcard = await api.post('/multi-smtp/routing-rules', {
      name: 'Bad',
      conditions: { recipientDomains: ['gm*il.com'] },
      target: { kind: 'group', id: groups.main },
    });
    expect(badWildcard.status).toBe(400);
    expect(fieldErrors(badWildcard.body)).toEqual({ 'conditions.recipientDomains.0': expect.stringMatching(/wildcard is only allowed as a leading/) });

    const unknownTarget = await api.post('/multi-smtp/routing-rules', { name: 'Lost', target: { kind: 'group', id: 'nosuchgroup000000000000' } });
    expect(unknownTarget.status).toBe(400);
    expect(fieldErrors(unknownTarget.body)).toEqual({ 'target.id': 'no group has this documentId' });

    const duplicate = await api.post('/multi-smtp/routing-rules', { name: 'newsletters', target: { kind: 'group', id: groups.main } });
    expect(duplicate.status).toBe(400);
    expect(fieldErrors(duplicate.body)).toEqual({ name: 'is already used by another rule' });

    const badSender = await api.post('/multi-smtp/routing-rules', { name: 'Sender', conditions: { senders: ['news@'] }, target: { kind: 'server', id: 'x' } });
    expect(badSender.status).toBe(400);
    expect(fieldErrors(badSender.body)['conditions.senders.0']).toMatch(/not an email address/);

    const badOrder = await api.put('/multi-smtp/routing-rules/order', { ids: [rules.gmail] });
    expect(badOrder.status).toBe(400);
    expect(fieldErrors(badOrder.body)).toEqual({ ids: 'must name each of the 3 rules once' });

    // No conditions: a catch-all, allowed; created last, then deleted.
    const catchAll = await createRule({ name: 'Everything else', target: { kind: 'group', id: groups.marketing } });
    expect((await api.get(`/multi-smtp/routing-rules/${catchAll}`)).body.data.position).toBe(3);
    expect((await api.delete(`/multi-smtp/routing-rules/${catchAll}`)).status).toBe(204);
    expect((await api.get(`/multi-smtp/routing-rules/${catchAll}`)).status).toBe(404);
  });

  it('refuses to delete a group or a server a rule sends to, naming the rule, until the rule is gone', async () => {
    const spare = await api.post('/multi-smtp/groups', { name: 'Spare', slug: 'spare', strategy: 'weighted' });
    expect(spare.status).toBe(201);
    const server = await api.post('/multi-smtp/servers', { name: 'spare-server', host: sinks.main.host, port: sinks.main.port, security: 'none', group: groups.main });
    expect(server.status).toBe(201);
    const toGroup = await createRule({ name: 'To spare', conditions: { tags: ['spare'] }, target: { kind: 'group', id: spare.body.data.documentId } });
    const toServer = await createRule({ name: 'To spare server', conditions: { tags: ['spare-server'] }, target: { kind: 'server', id: server.body.data.documentId } });

    const groupRefused = await api.delete(`/multi-smtp/groups/${spare.body.data.documentId}`);
    expect(groupRefused.status).toBe(400);
    expect(groupRefused.body.error.message).toBe('This group is the target of routing rule(s): To spare; change or delete them first');
    const serverRefused = await api.delete(`/multi-smtp/servers/${server.body.data.documentId}`);
    expect(serverRefused.status).toBe(400);
    expect(serverRefused.body.error.message).toBe('This server is the target of routing rule(s): To spare server; change or delete them first');
    // Nothing was deleted.
    expect((await api.get(`/multi-smtp/groups/${spare.body.data.documentId}`)).status).toBe(200);
    expect((await api.get(`/multi-smtp/servers/${server.body.data.documentId}`)).status).toBe(200);

    expect((await api.delete(`/multi-smtp/routing-rules/${toGroup}`)).status).toBe(204);
    expect((await api.delete(`/multi-smtp/routing-rules/${toServer}`)).status).toBe(204);
    expect((await api.delete(`/multi-smtp/groups/${spare.body.data.documentId}`)).status).toBe(204);
    expect((await api.delete(`/multi-smtp/servers/${server.body.data.documentId}`)).status).toBe(204);
  });

  it('answers 403 to a role without the routing actions', async () => {
    const reader = asAdmin(app, await app.createAdmin([ACTIONS.routingRead]));
    expect((await reader.get('/multi-smtp/routing-rules')).status).toBe(200);
    expect((await reader.post('/multi-smtp/routing-rules/test', { to: ['a@example.org'] })).status).toBe(200);
    expect((await reader.post('/multi-smtp/routing-rules', { name: 'x', target: { kind: 'group', id: groups.main } })).status).toBe(403);
    expect((await reader.put(`/multi-smtp/routing-rules/${rules.gmail}`, { enabled: true })).status).toBe(403);
    expect((await reader.delete(`/multi-smtp/routing-rules/${rules.gmail}`)).status).toBe(403);

    const serversOnly = asAdmin(app, await app.createAdmin([ACTIONS.serversRead, ACTIONS.serversManage]));
    expect((await serversOnly.get('/multi-smtp/routing-rules')).status).toBe(403);
    expect((await serversOnly.post('/multi-smtp/routing-rules/test', { to: ['a@example.org'] })).status).toBe(403);
  });
});
