import { createCampaign, createList, createSubscriber, fieldErrors, readyCampaign } from '../helpers/campaigns';
import { campaignAction, deliveriesOf, groupWithSink, repeated, waitForCampaignStatus } from '../helpers/campaign-sending';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

interface LogEntry {
  recipients: string[];
  group: string | null;
  serverName: string | null;
  status: string;
  decision: { route: { via: string; segment?: string | null } } | null;
}

/**
 * Segment routing (issue 12, item 2) on a real Strapi with its runner, workers, Redis and three
 * SMTP sinks: a campaign's audience split by a subscriber attribute, each part through its own
 * group, everyone else through the campaign's group (or skipped), each recipient exactly once.
 */
describe('campaign segment routing', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let euSink: TestSmtpServer;
  let usSink: TestSmtpServer;
  let mainSink: TestSmtpServer;
  let eu: string;
  let us: string;
  let main: string;

  const addressesAt = (sink: TestSmtpServer, campaign: string) => [...deliveriesOf([sink], campaign).keys()].sort();
  /** The delivery log's entries of a campaign, once it has `count` of them (campaign rows are written as messages finish). */
  const logOf = (campaign: string, count: number) =>
    waitFor<LogEntry[] | null>(`${count} log entries of campaign ${campaign}`, async () => {
      const response = await api.get(`/multi-smtp/messages?campaign=${campaign}&pageSize=100`);
      const entries = (response.body.data ?? []) as LogEntry[];
      return entries.length >= count ? entries : null;
    }) as Promise<LogEntry[]>;

  beforeAll(async () => {
    [euSink, usSink, mainSink] = await Promise.all([startSmtpServer(), startSmtpServer(), startSmtpServer()]);
    app = await startStrapi({
      pluginConfig: {
        worker: { enabled: true, concurrency: 4 },
        // Small pages and batches: segments are split within each of several pages.
        campaigns: { pageSize: 5, maxInFlight: 12, batchSize: 2 },
      },
    });
    api = asAdmin(app);
    eu = await groupWithSink(api, euSink, 'segment-eu');
    us = await groupWithSink(api, usSink, 'segment-us');
    main = await groupWithSink(api, mainSink, 'segment-main');
    // Booting on a fresh database schema can take a while on a busy machine.
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([euSink?.close(), usSink?.close(), mainSink?.close()]);
  });

  it('sends each region through its own group, the rest through the campaign group, everyone once', async () => {
    const list = (await createList(api, 'Regions')).documentId;
    const euAddresses: string[] = [];
    const usAddresses: string[] = [];
    const restAddresses: string[] = [];
    // Values match case-insensitively and whatever the spaces around them.
    const euValues = ['eu', 'EU', ' Eu ', 'eu', 'eU', 'eu', 'EU'];
    for (const [index, region] of euValues.entries()) {
      const email = `eu${index}@example.com`;
      await createSubscriber(api, { email, lists: [list], attributes: { region } });
      euAddresses.push(email);
    }
    for (const [index, region] of ['us', 'US', 'Us', 'us', 'us'].entries()) {
      const email = `us${index}@example.com`;
      await createSubscriber(api, { email, lists: [list], attributes: { region } });
      usAddresses.push(email);
    }
    // No region, an empty one, regions no route names (one only starting like one), null: the campaign's group.
    const rest: Record<string, unknown>[] = [{}, { plan: 'gold' }, { region: '' }, { region: 'apac' }, { region: 'eu-west' }, { region: null }];
    for (const [index, attributes] of rest.entries()) {
      const email = `rest${index}@example.com`;
      await createSubscriber(api, { email, lists: [list], attributes });
      restAddresses.push(email);
    }
    // Not sent to whatever its region: counted as skipped.
    await createSubscriber(api, { email: 'left@example.com', lists: [list], status: 'unsubscribed', attributes: { region: 'eu' } });

    const created = await createCampaign(
      api,
      readyCampaign([list], {
        name: 'Regional news',
        group: main,
        segmentRouting: {
          attribute: 'region',
          routes: [
            { value: 'EU', group: eu },
            { value: 'us', group: us },
          ],
        },
      })
    );
    const campaign = created.documentId;
    // `otherwise` defaults to the campaign's group.
    expect(created.segmentRouting).toEqual({
      attribute: 'region',
      routes: [
        { value: 'EU', group: eu },
        { value: 'us', group: us },
      ],
      otherwise: 'campaign-group',
    });

    await campaignAction(api, campaign, 'start');
    const done = await waitForCampaignStatus(api, campaign, 'completed');

    const all = deliveriesOf([euSink, usSink, mainSink], campaign);
    expect(repeated(all)).toEqual([]);
    expect(addressesAt(euSink, campaign)).toEqual([...euAddresses].sort());
    expect(addressesAt(usSink, campaign)).toEqual([...usAddresses].sort());
    expect(addressesAt(mainSink, campaign)).toEqual([...restAddresses].sort());
    const total = euAddresses.length + usAddresses.length + restAddresses.length;
    expect(done).toMatchObject({ totalRecipients: total + 1, queuedCount: total, sentCount: total, skippedCount: 1, failedCount: 0 });

    // The delivery log names the group each went through, and why: its segment, or the campaign's group.
    const log = await logOf(campaign, total);
    const routeOf = new Map(log.map((entry) => [entry.recipients[0], { group: entry.group, route: entry.decision?.route ?? null }]));
    for (const address of euAddresses) {
      expect([address, routeOf.get(address)]).toEqual([address, { group: 'segment-eu', route: { via: 'segment', segment: 'region = EU' } }]);
    }
    for (const address of usAddresses) {
      expect([address, routeOf.get(address)]).toEqual([address, { group: 'segment-us', route: { via: 'segment', segment: 'region = us' } }]);
    }
    for (const address of restAddresses) {
      expect([address, routeOf.get(address)]).toEqual([address, { group: 'segment-main', route: { via: 'group' } }]);
    }
    expect(log.every((entry) => entry.status === 'sent')).toBe(true);

    // Started: the segment routing is locked with the rest of what is sent.
    const edit = await api.put(`/multi-smtp/campaigns/${campaign}`, { segmentRouting: null });
    expect(edit.status).toBe(409);
  }, 120_000);

  it('skips recipients outside every segment when told to, and matches numbers and booleans as text', async () => {
    const list = (await createList(api, 'Tiers')).documentId;
    await createSubscriber(api, { email: 'tier1-number@example.com', lists: [list], attributes: { tier: 1 } });
    await createSubscriber(api, { email: 'tier1-text@example.com', lists: [list], attributes: { tier: '1' } });
    await createSubscriber(api, { email: 'vip@example.com', lists: [list], attributes: { tier: true } });
    await createSubscriber(api, { email: 'tier2@example.com', lists: [list], attributes: { tier: 2 } });
    await createSubscriber(api, { email: 'none@example.com', lists: [list] });

    const campaign = (
      await createCampaign(
        api,
        readyCampaign([list], {
          name: 'Tiered',
          group: main,
          segmentRouting: {
            attribute: 'tier',
            routes: [
              { value: '1', group: eu },
              { value: 'TRUE', group: us },
            ],
            otherwise: 'skip',
          },
        })
      )
    ).documentId;
    await campaignAction(api, campaign, 'start');
    const done = await waitForCampaignStatus(api, campaign, 'completed');

    expect(repeated(deliveriesOf([euSink, usSink, mainSink], campaign))).toEqual([]);
    expect(addressesAt(euSink, campaign)).toEqual(['tier1-number@example.com', 'tier1-text@example.com']);
    expect(addressesAt(usSink, campaign)).toEqual(['vip@example.com']);
    expect(addressesAt(mainSink, campaign)).toEqual([]);
    expect(done).toMatchObject({ totalRecipients: 5, queuedCount: 3, sentCount: 3, skippedCount: 2, failedCount: 0 });
  }, 120_000);

  it("test-sends through the group of the chosen subscriber's segment, as the campaign would", async () => {
    const list = (await createList(api, 'Test sends')).documentId;
    const euReader = (await createSubscriber(api, { email: 'eu-reader@example.com', lists: [list], attributes: { region: 'EU' } })).documentId;
    const campaign = await createCampaign(
      api,
      readyCampaign([list], { name: 'Segment test send', group: main, segmentRouting: { attribute: 'region', routes: [{ value: 'eu', group: eu }], otherwise: 'skip' } })
    );
    const sendTest = async (body: object) => {
      const response = await api.post(`/multi-smtp/campaigns/${campaign.documentId}/test-send`, body);
      expect(response.status).toBe(200);
      expect(response.body.data.results[0]).toMatchObject({ accepted: true });
      return response.body.data.results[0].messageId as string;
    };
    const at = (sink: TestSmtpServer, id: string) => sink.messages.some((message) => message.headers['x-multi-smtp-id'] === id);

    const bySubscriber = await sendTest({ to: ['qa-eu@example.com'], subscriberId: euReader });
    const bySample = await sendTest({ to: ['qa-sample@example.com'], sampleData: { name: 'Sam', attributes: { region: ' eu ' } } });
    // Outside every segment (the campaign would skip them): a test still goes out, through the campaign's group.
    const outside = await sendTest({ to: ['qa-none@example.com'], sampleData: { name: 'Nat', attributes: { region: 'apac' } } });
    expect(at(euSink, bySubscriber)).toBe(true);
    expect(at(euSink, bySample)).toBe(true);
    expect(at(mainSink, outside)).toBe(true);
    expect(at(euSink, outside)).toBe(false);
  });

  it('refuses bad segment routing with a 400 naming the field, and clears it with null', async () => {
    const list = (await createList(api, 'Checks')).documentId;
    const attempt = async (segmentRouting: unknown) => {
      const response = await api.post('/multi-smtp/campaigns', readyCampaign([list], { name: 'Bad segments', segmentRouting }));
      expect(response.status).toBe(400);
      return fieldErrors(response.body);
    };

    expect(await attempt({ attribute: '  ', routes: [{ value: 'eu', group: eu }] })).toEqual({ 'segmentRouting.attribute': 'is required' });
    expect(
      await attempt({
        attribute: 'region',
        routes: [
          { value: 'eu', group: eu },
          { value: ' EU', group: us },
        ],
      })
    ).toEqual({ 'segmentRouting.routes.1.value': 'repeats route 1 (values are compared case-insensitively)' });
    expect(await attempt({ attribute: 'region', routes: [{ value: 'eu', group: 'no-such-group' }] })).toEqual({
      'segmentRouting.routes.0.group': 'does not exist',
    });
    expect(await attempt({ attribute: 'region', routes: [] })).toEqual({ 'segmentRouting.routes': 'must have at least one route' });
    expect(await attempt({ attribute: 'region', routes: [{ value: '', group: eu }] })).toEqual({ 'segmentRouting.routes.0.value': 'is required' });
    expect(await attempt({ attribute: 'region', routes: [{ value: 'eu', group: eu }], otherwise: 'elsewhere' })).toEqual({
      'segmentRouting.otherwise': 'must be one of: campaign-group, skip',
    });

    // A draft may change it, and null turns it off.
    const draft = await createCampaign(api, readyCampaign([list], { name: 'Changing', segmentRouting: { attribute: 'region', routes: [{ value: 'eu', group: eu }] } }));
    const updateBad = await api.put(`/multi-smtp/campaigns/${draft.documentId}`, { segmentRouting: { attribute: 'region', routes: [{ value: 'us', group: 'gone' }] } });
    expect(updateBad.status).toBe(400);
    expect(fieldErrors(updateBad.body)).toEqual({ 'segmentRouting.routes.0.group': 'does not exist' });
    const cleared = await api.put(`/multi-smtp/campaigns/${draft.documentId}`, { segmentRouting: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.data.segmentRouting).toBeNull();

    // A segment's group deleted after the campaign was saved: it cannot start, and nothing is sent.
    await createSubscriber(api, { email: 'orphan@example.com', lists: [list], attributes: { region: 'eu' } });
    const doomed = (await api.post('/multi-smtp/groups', { name: 'Doomed', slug: 'segment-doomed' })).body.data.documentId as string;
    const orphaned = await createCampaign(
      api,
      readyCampaign([list], { name: 'Orphaned', group: main, segmentRouting: { attribute: 'region', routes: [{ value: 'eu', group: doomed }] } })
    );
    expect((await api.delete(`/multi-smtp/groups/${doomed}`)).status).toBe(204);
    const start = await api.post(`/multi-smtp/campaigns/${orphaned.documentId}/start`);
    expect(start.status).toBe(400);
    expect(fieldErrors(start.body)).toEqual({ 'segmentRouting.routes.0.group': 'does not exist' });
    expect((await api.get(`/multi-smtp/campaigns/${orphaned.documentId}`)).body.data.status).toBe('draft');

    // A scheduled (or sending, or paused) campaign's segment group cannot be deleted under it.
    const kept = (await api.post('/multi-smtp/groups', { name: 'Kept', slug: 'segment-kept' })).body.data.documentId as string;
    const scheduled = await createCampaign(
      api,
      readyCampaign([list], { name: 'Scheduled segments', group: main, segmentRouting: { attribute: 'region', routes: [{ value: 'eu', group: kept }] } })
    );
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await campaignAction(api, scheduled.documentId, 'schedule', { scheduledAt: later })).status).toBe('scheduled');
    const refused = await api.delete(`/multi-smtp/groups/${kept}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      'The segment routing of campaign(s) Scheduled segments sends through this group; finish, cancel or change them first'
    );
    expect((await campaignAction(api, scheduled.documentId, 'cancel')).status).toBe('cancelled');
    expect((await api.delete(`/multi-smtp/groups/${kept}`)).status).toBe(204);
  }, 60_000);
});
