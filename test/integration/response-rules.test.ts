import type { Core } from '@strapi/strapi';
import type Redis from 'ioredis';

import type { CustomResponseRule, ResponseRulesList } from '../../shared/contracts/response-rules';
import { ACTIONS } from '../../shared/permissions';
import { fieldErrors } from '../helpers/campaigns';
import { testRedis } from '../helpers/redis';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-servers';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';
import { waitFor } from '../helpers/wait';

/**
 * Response rules on a real Strapi, Redis and SMTP sinks: rules made through the admin API act on
 * the replies of real servers (throttle, suspend), a shipped rule turned off no longer acts, bad
 * rules are refused naming the field, and changing rules needs its permission.
 */

type Mailer = { send(message: object, options?: object): Promise<{ id: string; status: string }> };
type Api = ReturnType<typeof asAdmin>;
interface EngineLike {
  health: { rules(): ReadonlyArray<{ id: string; pattern: string }> };
  status(
    id: string
  ): Promise<{ status: string; attempts: Array<{ at: number; serverId: string; reply: string | null }> } | null>;
}

const RULE = {
  pattern: String.raw`\(CUSTOM-42\)`,
  action: 'throttle',
  durationSec: 120,
  ratePerSecond: 2,
  description: 'Custom: the receiver asks us to slow down',
};

describe('response rules', () => {
  let app: TestStrapi;
  let strapi: Core.Strapi;
  let api: Api;
  let mailer: Mailer;
  let redis: Redis;
  let groupId: string;
  const sinks: TestSmtpServer[] = [];

  const engine = () => strapi.plugin('multi-smtp').service('engine').get() as EngineLike;

  /** A server of the test group that delivers to a new sink; its documentId and sink. */
  const serverWithSink = async (name: string, faults: Parameters<TestSmtpServer['setFaults']>[0] = []) => {
    const sink = await startSmtpServer({ faults });
    sinks.push(sink);
    const created = await api.post('/multi-smtp/servers', {
      name,
      host: sink.host,
      port: sink.port,
      security: 'none',
      maxConnections: 2,
      fromAddress: 'shop@example.com',
      group: groupId,
    });
    expect(created.status).toBe(201);
    return { id: created.body.data.documentId as string, sink };
  };

  const healthOf = async (serverId: string) => {
    const response = await api.get(`/multi-smtp/servers/${serverId}/status`);
    expect(response.status).toBe(200);
    return response.body.data.health as {
      state: string;
      source: string | null;
      reason: string | null;
      throttle: { ratePerSecond: number; until: number } | null;
    };
  };

  /** Sends one message through this server only, and waits until it was tried at least once. */
  const sendThrough = async (serverId: string, subject: string) => {
    const queued = await mailer.send({ to: 'reader@inbox.example', subject, text: 'Hello' }, { server: serverId });
    await waitFor(
      `a first attempt of "${subject}"`,
      async () => ((await engine().status(queued.id))?.attempts.length ?? 0) > 0
    );
    return queued.id;
  };

  const sentStatus = async (id: string) => {
    const sent = await waitFor(`message ${id} sent`, async () => {
      const status = await engine().status(id);
      return status?.status === 'sent' ? status : null;
    });
    return sent!;
  };

  beforeAll(async () => {
    app = await startStrapi({ pluginConfig: { retry: { attempts: 5, backoffMs: 200 } } });
    strapi = app.strapi;
    api = asAdmin(app);
    mailer = strapi.plugin('multi-smtp').service('mailer') as Mailer;
    redis = testRedis();
    const group = await api.post('/multi-smtp/groups', { name: 'Rules', slug: 'rules' });
    expect(group.status).toBe(201);
    groupId = group.body.data.documentId;
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all(sinks.map((sink) => sink.close()));
    redis?.disconnect();
  });

  it('lists the shipped rules, all on, and no custom rule at first', async () => {
    const response = await api.get('/multi-smtp/response-rules');
    expect(response.status).toBe(200);
    const list = response.body.data as ResponseRulesList;
    expect(list.custom).toEqual([]);
    expect(list.shipped.map((rule) => rule.ruleId)).toEqual(
      expect.arrayContaining(['ses-max-send-rate', 'too-many-connections'])
    );
    expect(list.shipped.every((rule) => rule.enabled)).toBe(true);
    expect(list.shipped.find((rule) => rule.ruleId === 'ses-max-send-rate')).toMatchObject({
      action: 'throttle',
      ratePerSecond: 1,
      durationSec: 60,
    });
  });

  it('refuses bad rules with a 400 naming the field and the reason', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ ...RULE, pattern: '(unclosed' }, 'pattern', /not a valid regular expression/],
      [{ ...RULE, pattern: '(a+)+$' }, 'pattern', /repeats a group that itself repeats/],
      [{ ...RULE, pattern: String.raw`(?:\w*\s?)*x` }, 'pattern', /repeats a group that itself repeats/],
      [{ ...RULE, pattern: '' }, 'pattern', /is required/],
      [{ ...RULE, ratePerSecond: undefined }, 'ratePerSecond', /is required for a throttle/],
      [{ ...RULE, durationSec: 0 }, 'durationSec', /at least 1/],
      [{ ...RULE, durationSec: 30 * 24 * 3600 }, 'durationSec', /at most 604800/],
      [{ ...RULE, action: 'explode' }, 'action', /suspend or throttle/],
      [{ ...RULE, thresholdCount: 3 }, 'thresholdWindowSec', /is required/],
      [{ ...RULE, description: '' }, 'description', /is required/],
    ];
    for (const [body, field, reason] of cases) {
      const response = await api.post('/multi-smtp/response-rules', body);
      expect([field, response.status]).toEqual([field, 400]);
      expect(fieldErrors(response.body)[field]).toMatch(reason);
    }
    // A `?` around a repeating group is fine: it cannot repeat it.
    const fine = await api.post('/multi-smtp/response-rules', {
      ...RULE,
      pattern: String.raw`(?:\d{3}[ -]4\.7\.\d+\s+)?CUSTOM-0`,
      enabled: false,
    });
    expect(fine.status).toBe(201);
    expect((await api.delete(`/multi-smtp/response-rules/${fine.body.data.documentId}`)).status).toBe(204);
    expect((await api.get('/multi-smtp/response-rules')).body.data.custom).toEqual([]);
  });

  it('needs response-rules.manage to change rules; servers.read to read them', async () => {
    const reader = asAdmin(app, await app.createAdmin([ACTIONS.serversRead, ACTIONS.serversManage]));
    expect((await reader.get('/multi-smtp/response-rules')).status).toBe(200);
    expect((await reader.post('/multi-smtp/response-rules', RULE)).status).toBe(403);
    expect((await reader.put('/multi-smtp/response-rules/shipped/ses-max-send-rate', { enabled: false })).status).toBe(
      403
    );
    const manager = asAdmin(app, await app.createAdmin([ACTIONS.responseRulesManage]));
    expect((await manager.get('/multi-smtp/response-rules')).status).toBe(403);
    const created = await manager.post('/multi-smtp/response-rules', {
      ...RULE,
      pattern: 'CUSTOM-403',
      enabled: false,
    });
    expect(created.status).toBe(201);
    expect((await manager.delete(`/multi-smtp/response-rules/${created.body.data.documentId}`)).status).toBe(204);
  });

  it('a custom throttle rule made through the API throttles the server to its rate', async () => {
    const created = await api.post('/multi-smtp/response-rules', RULE);
    expect(created.status).toBe(201);
    const rule = created.body.data as CustomResponseRule;
    expect(rule).toMatchObject({ ...RULE, ruleId: `custom.${rule.documentId}`, enabled: true, thresholdCount: null });
    // The node that made the change uses it before answering.
    expect(
      engine()
        .health.rules()
        .map((entry) => entry.id)
    ).toContain(rule.ruleId);

    const { id: serverId, sink } = await serverWithSink('throttled', [
      { stage: 'mail', code: 451, enhanced: '4.7.1', text: 'Slow down please (CUSTOM-42)', times: 1 },
    ]);
    expect((await healthOf(serverId)).throttle).toBeNull();
    const first = await sendThrough(serverId, 'first');
    const health = await healthOf(serverId);
    expect(health.state).toBe('closed');
    expect(health.throttle).toMatchObject({ ratePerSecond: 2 });
    await sentStatus(first);

    // Six more: paced at 2 per second, one start every 500 ms at the least.
    const ids: string[] = [];
    for (let index = 0; index < 6; index += 1) {
      ids.push(
        (
          await mailer.send(
            { to: 'reader@inbox.example', subject: `paced ${index}`, text: 'Hello' },
            { server: serverId }
          )
        ).id
      );
    }
    const starts: number[] = [];
    for (const id of ids) {
      const status = await sentStatus(id);
      starts.push(status.attempts[status.attempts.length - 1]!.at);
    }
    starts.sort((a, b) => a - b);
    // Reservations are granted one per 500 ms (the quota store's pacing); an attempt starts right
    // after its reservation, so six span at least five intervals (less a few ms of bookkeeping).
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(5 * 500 - 50);
    expect(sink.messages.filter((message) => message.subject?.startsWith('paced'))).toHaveLength(6);
  });

  it('a custom suspend rule suspends the server, with the rule as the reason, until resumed', async () => {
    const created = await api.post('/multi-smtp/response-rules', {
      pattern: 'CUSTOM-SUSPEND-7',
      action: 'suspend',
      durationSec: 600,
      description: 'Custom: the receiver blocks us',
    });
    expect(created.status).toBe(201);
    const { id: serverId, sink } = await serverWithSink('suspended', [
      { stage: 'rcpt', code: 451, enhanced: '4.7.1', text: 'Go away for now (CUSTOM-SUSPEND-7)', times: 1 },
    ]);
    await sendThrough(serverId, 'suspend me');
    const health = await healthOf(serverId);
    expect(health).toMatchObject({ state: 'open', source: 'rule' });
    expect(health.reason).toMatch(/^Custom: the receiver blocks us: 451 4\.7\.1 Go away for now \(CUSTOM-SUSPEND-7\)/);
    expect(sink.messages).toHaveLength(0);

    // Lifted by hand like any suspension.
    expect((await api.post(`/multi-smtp/servers/${serverId}/resume`, {})).status).toBe(200);
    expect(await healthOf(serverId)).toMatchObject({ state: 'closed', source: null, reason: null });
  });

  it('a shipped rule turned off no longer acts; turned on again, it does', async () => {
    const sesReply = {
      stage: 'mail' as const,
      code: 454,
      enhanced: '4.7.0',
      text: 'Throttling failure: Maximum sending rate exceeded.',
      times: 1,
    };
    // On (as shipped): the reply throttles the server.
    const { id: before } = await serverWithSink('ses-before', [sesReply]);
    await sentStatus(await sendThrough(before, 'ses on'));
    expect((await healthOf(before)).throttle).toMatchObject({ ratePerSecond: 1 });

    const off = await api.put('/multi-smtp/response-rules/shipped/ses-max-send-rate', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ ruleId: 'ses-max-send-rate', enabled: false });
    expect(
      (await api.get('/multi-smtp/response-rules')).body.data.shipped.find(
        (rule: { ruleId: string }) => rule.ruleId === 'ses-max-send-rate'
      ).enabled
    ).toBe(false);
    expect(
      engine()
        .health.rules()
        .map((rule) => rule.id)
    ).not.toContain('ses-max-send-rate');

    const { id: after } = await serverWithSink('ses-after', [sesReply]);
    const status = await sentStatus(await sendThrough(after, 'ses off'));
    expect(status.attempts[0]!.reply).toMatch(/Throttling failure/);
    expect(await healthOf(after)).toMatchObject({ state: 'closed', throttle: null });

    expect((await api.put('/multi-smtp/response-rules/shipped/ses-max-send-rate', { enabled: true })).status).toBe(200);
    expect(
      engine()
        .health.rules()
        .map((rule) => rule.id)
    ).toContain('ses-max-send-rate');
    expect((await api.put('/multi-smtp/response-rules/shipped/no-such-rule', { enabled: false })).status).toBe(404);
  });

  it('edits and deletes a custom rule; a change made elsewhere reaches this node through the version key', async () => {
    const created = await api.post('/multi-smtp/response-rules', {
      pattern: 'CUSTOM-EDIT',
      action: 'suspend',
      durationSec: 60,
      description: 'To edit',
    });
    const documentId = created.body.data.documentId as string;
    const edited = await api.put(`/multi-smtp/response-rules/${documentId}`, {
      pattern: 'CUSTOM-EDITED',
      action: 'throttle',
      ratePerSecond: 0.5,
      durationSec: 300,
      thresholdCount: 3,
      thresholdWindowSec: 600,
      description: 'Edited',
    });
    expect(edited.status).toBe(200);
    expect(edited.body.data).toMatchObject({
      pattern: 'CUSTOM-EDITED',
      action: 'throttle',
      ratePerSecond: 0.5,
      thresholdCount: 3,
      thresholdWindowSec: 600,
    });
    expect((await api.get(`/multi-smtp/response-rules/${documentId}`)).body.data).toMatchObject({
      pattern: 'CUSTOM-EDITED',
    });
    const bad = await api.put(`/multi-smtp/response-rules/${documentId}`, { ...RULE, pattern: '([a-z]+)*' });
    expect(bad.status).toBe(400);
    expect(Object.keys(fieldErrors(bad.body))).toEqual(['pattern']);

    // As another node would: the row changed in the database and the version key bumped, no API call here.
    await strapi
      .documents('plugin::multi-smtp.response-rule' as never)
      .update({ documentId, data: { pattern: 'CUSTOM-FROM-ELSEWHERE' } } as never);
    const prefix = strapi.plugin('multi-smtp').service('engine').keyPrefix() as string;
    await redis.incr(`${prefix}:response-rules:version`);
    await waitFor('the rule changed elsewhere', () =>
      engine()
        .health.rules()
        .some((rule) => rule.id === `custom.${documentId}` && rule.pattern === 'CUSTOM-FROM-ELSEWHERE')
    );

    expect((await api.delete(`/multi-smtp/response-rules/${documentId}`)).status).toBe(204);
    expect(
      engine()
        .health.rules()
        .some((rule) => rule.id === `custom.${documentId}`)
    ).toBe(false);
    expect((await api.get(`/multi-smtp/response-rules/${documentId}`)).status).toBe(404);
  });
});
