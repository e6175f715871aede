import type Redis from 'ioredis';

import { createCampaign, createList, createSubscriber, fieldErrors, readyCampaign } from '../helpers/campaigns';
import { deleteKeys, testRedis } from '../helpers/redis';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { sleep } from '../helpers/wait';

type Transition = (documentId: string, event: 'dispatch' | 'complete' | 'fail', data?: object) => Promise<{ status: string } | null>;

describe('campaign lifecycle: start, schedule, pause, resume, cancel, and the refusals', () => {
  let app: TestStrapi;
  let api: ReturnType<typeof asAdmin>;
  let redis: Redis;
  let listId: string;
  let emptyListId: string;

  const stateOf = (documentId: string) => redis.get(`${app.redisPrefix}:campaign:${documentId}:state`);
  const action = (documentId: string, name: string, body?: object) => api.post(`/multi-smtp/campaigns/${documentId}/${name}`, body);
  const transition: Transition = (documentId, event, data) =>
    (app.strapi.plugin('multi-smtp').service('campaigns') as { transition: Transition }).transition(documentId, event, data);

  beforeAll(async () => {
    redis = testRedis();
    // No worker and so no runner: a started campaign stays 'sending' until the test moves it.
    app = await startStrapi({ pluginConfig: { worker: { enabled: false } } });
    api = asAdmin(app);
    listId = (await createList(api, 'Readers')).documentId;
    emptyListId = (await createList(api, 'Nobody')).documentId;
    await createSubscriber(api, { email: 'ann@example.com', name: 'Ann', lists: [listId] });
    await createSubscriber(api, { email: 'bob@example.com', name: 'Bob', lists: [listId] });
    await createSubscriber(api, { email: 'gone@example.com', lists: [listId], status: 'unsubscribed' });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) await deleteKeys(redis, app.redisPrefix);
    redis.disconnect();
  });

  it('refuses to start without subject, sender, body or audience, naming each field', async () => {
    const campaign = await createCampaign(api, { name: 'Empty' });
    const response = await action(campaign.documentId, 'start');
    expect(response.status).toBe(400);
    expect(fieldErrors(response.body)).toEqual({
      subject: 'is required to start the campaign',
      fromAddress: 'is required to start the campaign',
      html: 'is required to start the campaign (or a text body)',
      audience: 'is required to start the campaign',
    });
    expect((await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data.status).toBe('draft');
    expect(await stateOf(campaign.documentId)).toBeNull();
  });

  it('refuses to start a campaign whose template does not compile, with the part, line and column', async () => {
    const campaign = await createCampaign(
      api,
      readyCampaign([listId], { subject: 'Hi {{ recipient.name', html: '<p>ok</p>\n<p>{% for x in %}</p>' })
    );
    const response = await action(campaign.documentId, 'start');
    expect(response.status).toBe(400);
    const errors = response.body.error.details.errors as { path: string[]; line?: number; column?: number }[];
    expect(errors.map((error) => error.path[0]).sort()).toEqual(['html', 'subject']);
    expect(errors.find((error) => error.path[0] === 'html')).toMatchObject({ line: 2, column: expect.any(Number) });
    expect(errors.find((error) => error.path[0] === 'subject')).toMatchObject({ line: 1, column: expect.any(Number) });
    expect((await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data.status).toBe('draft');
  });

  it('refuses to start a campaign whose audience has no one to send to', async () => {
    const campaign = await createCampaign(api, readyCampaign([emptyListId]));
    const response = await action(campaign.documentId, 'start');
    expect(response.status).toBe(400);
    expect(fieldErrors(response.body).audience).toBe('has no recipients');
  });

  it('starts: sending, with the audience count, the start time and the state the workers read', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    const response = await action(campaign.documentId, 'start');
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      status: 'sending',
      startedAt: expect.any(String),
      totalRecipients: 3, // matched, of whom the unsubscribed one will be skipped
      editable: false,
      actions: ['pause', 'cancel'],
    });
    expect(await stateOf(campaign.documentId)).toBe('sending');
  });

  it('locks editing once sending (409), but a rename is still allowed', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    expect((await action(campaign.documentId, 'start')).status).toBe(200);

    for (const change of [{ subject: 'Changed' }, { html: '<p>new</p>' }, { audience: { type: 'lists', lists: [emptyListId] } }, { group: null }]) {
      const response = await api.put(`/multi-smtp/campaigns/${campaign.documentId}`, change);
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ status: 409, name: 'ConflictError' });
      expect(response.body.error.message).toMatch(/is sending: .* only be changed while it is a draft or scheduled/);
    }
    const renamed = await api.put(`/multi-smtp/campaigns/${campaign.documentId}`, { name: 'Spring news (final)', tags: ['q2'] });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data).toMatchObject({ name: 'Spring news (final)', tags: ['q2'], subject: 'Hello {{ recipient.name | default: "friend" }}' });

    const deleting = await api.delete(`/multi-smtp/campaigns/${campaign.documentId}`);
    expect(deleting.status).toBe(409);
    expect(deleting.body.error.message).toMatch(/cancel it first/);
  });

  it('pauses, resumes and cancels, keeping the Redis state in step; a final campaign cannot start again', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    const id = campaign.documentId;
    expect((await action(id, 'start')).status).toBe(200);

    const paused = await action(id, 'pause');
    expect(paused.status).toBe(200);
    expect(paused.body.data).toMatchObject({ status: 'paused', actions: ['resume', 'cancel'] });
    expect(await stateOf(id)).toBe('paused');

    const again = await action(id, 'pause');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe('Cannot pause this campaign: it is paused');
    expect((await api.put(`/multi-smtp/campaigns/${id}`, { subject: 'x' })).status).toBe(409);

    expect((await action(id, 'resume')).body.data.status).toBe('sending');
    expect(await stateOf(id)).toBe('sending');

    const cancelled = await action(id, 'cancel');
    expect(cancelled.body.data).toMatchObject({ status: 'cancelled', completedAt: expect.any(String), actions: [] });
    expect(await stateOf(id)).toBe('cancelled');

    for (const name of ['start', 'resume', 'pause', 'cancel']) {
      const refused = await action(id, name);
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toMatch(/it was cancelled/);
    }
    expect((await api.delete(`/multi-smtp/campaigns/${id}`)).status).toBe(204);
    expect(await stateOf(id)).toBeNull();
  });

  it('a completed campaign cannot be started again, and can be deleted', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    expect((await action(campaign.documentId, 'start')).status).toBe(200);
    // What the runner does when the last message is finished.
    expect(await transition(campaign.documentId, 'complete', { sentCount: 2, skippedCount: 1 })).toMatchObject({ status: 'completed' });
    expect(await transition(campaign.documentId, 'complete')).toBeNull();

    const restart = await action(campaign.documentId, 'start');
    expect(restart.status).toBe(409);
    expect(restart.body.error.message).toBe('Cannot start this campaign: it has completed; duplicate it to send again');
    const fetched = (await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data;
    expect(fetched).toMatchObject({ status: 'completed', sentCount: 2, skippedCount: 1, progress: { sent: 2, skipped: 1, percent: 100 } });
    expect(await stateOf(campaign.documentId)).toBe('completed');
    expect((await api.delete(`/multi-smtp/campaigns/${campaign.documentId}`)).status).toBe(204);
  });

  it('schedules for later, allows edits while scheduled, unschedules, and "start" on a scheduled campaign sends now', async () => {
    const later = new Date(Date.now() + 3600_000).toISOString();
    const campaign = await createCampaign(api, readyCampaign([listId]));
    const id = campaign.documentId;

    const past = await action(id, 'schedule', { scheduledAt: new Date(Date.now() - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect(fieldErrors(past.body).scheduledAt).toMatch(/must be in the future/);
    expect(fieldErrors((await action(id, 'schedule', {})).body).scheduledAt).toBe('is required');

    const scheduled = await action(id, 'schedule', { scheduledAt: later });
    expect(scheduled.status).toBe(200);
    expect(scheduled.body.data).toMatchObject({ status: 'scheduled', editable: true, actions: ['start', 'schedule', 'unschedule', 'cancel'] });
    expect(new Date(scheduled.body.data.scheduledAt).toISOString()).toBe(later);
    expect(await stateOf(id)).toBe('scheduled');

    expect((await api.put(`/multi-smtp/campaigns/${id}`, { subject: 'Still editable' })).status).toBe(200);
    const unset = await api.put(`/multi-smtp/campaigns/${id}`, { scheduledAt: null });
    expect(unset.status).toBe(400);
    expect(fieldErrors(unset.body).scheduledAt).toMatch(/unschedule/);

    const draft = await action(id, 'unschedule');
    expect(draft.body.data).toMatchObject({ status: 'draft', scheduledAt: null });

    // A draft dated in the future is scheduled by "start"...
    expect((await api.put(`/multi-smtp/campaigns/${id}`, { scheduledAt: later })).status).toBe(200);
    expect((await action(id, 'start')).body.data.status).toBe('scheduled');
    // ...and "start" on a scheduled campaign sends it now.
    const now = await action(id, 'start');
    expect(now.body.data).toMatchObject({ status: 'sending', startedAt: expect.any(String) });
    expect(await stateOf(id)).toBe('sending');
  });

  it('lets exactly one of two simultaneous admins win a transition', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    const starts = await Promise.all([action(campaign.documentId, 'start'), action(campaign.documentId, 'start')]);
    expect(starts.map((response) => response.status).sort()).toEqual([200, 409]);

    const pauses = await Promise.all([action(campaign.documentId, 'pause'), action(campaign.documentId, 'pause'), action(campaign.documentId, 'cancel')]);
    const winners = pauses.filter((response) => response.status === 200);
    // Each request is a conditional update from the state it read. Either the cancel won first (the
    // pauses then find it cancelled), or a pause won and then the cancel (paused -> cancelled), or a
    // pause won while the cancel had read 'sending' (the cancel then finds it changed: 409). Never
    // two pauses, never a lost or half-made transition.
    expect(winners.length).toBeGreaterThanOrEqual(1);
    expect(winners.length).toBeLessThanOrEqual(2);
    expect(pauses.filter((response) => response.status === 409).length).toBe(3 - winners.length);
    expect(pauses.slice(0, 2).filter((response) => response.status === 200).length).toBeLessThanOrEqual(1);
    const expected = pauses[2]!.status === 200 ? 'cancelled' : 'paused';
    const final = (await api.get(`/multi-smtp/campaigns/${campaign.documentId}`)).body.data.status;
    expect(final).toBe(expected);
    expect(await stateOf(campaign.documentId)).toBe(expected);
  });

  it('reports progress from the live counters, with a send rate and an ETA', async () => {
    const campaign = await createCampaign(api, readyCampaign([listId]));
    const id = campaign.documentId;
    expect((await action(id, 'start')).status).toBe(200);
    const counts = `${app.redisPrefix}:campaign:${id}:counts`;

    await redis.hset(counts, { queued: 2, sent: 0, failed: 0, bounced: 0, skipped: 0 });
    const first = await api.get(`/multi-smtp/campaigns/${id}/progress`);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ total: 3, queued: 2, sent: 0, inFlight: 2, ratePerSec: 0, etaSeconds: null, percent: 0 });

    await sleep(1100);
    await redis.hset(counts, { sent: 1, skipped: 0 });
    const second = (await api.get(`/multi-smtp/campaigns/${id}/progress`)).body.data;
    expect(second).toMatchObject({ total: 3, queued: 2, sent: 1, inFlight: 1, percent: 33.3 });
    expect(second.ratePerSec).toBeGreaterThan(0.5);
    expect(second.ratePerSec).toBeLessThan(1);
    expect(second.etaSeconds).toBeGreaterThanOrEqual(3);

    // The list shows the same progress.
    const listed = (await api.get('/multi-smtp/campaigns?status=sending&pageSize=100')).body.data.find((c: { documentId: string }) => c.documentId === id);
    expect(listed.progress).toMatchObject({ sent: 1, inFlight: 1 });

    // Paused: no rate, no ETA.
    await action(id, 'pause');
    expect((await api.get(`/multi-smtp/campaigns/${id}/progress`)).body.data).toMatchObject({ ratePerSec: 0, etaSeconds: null, sent: 1 });
  });
});
