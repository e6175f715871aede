/**
 * The circuit breaker and response rules against a real Redis, with a fake clock: every call gets
 * its `now`, so cooldowns and windows are crossed without waiting.
 */
import type Redis from 'ioredis';

import {
  createHealthStore,
  DEFAULT_RESPONSE_RULES,
  type HealthStoreOptions,
  type ResponseRule,
} from '../../server/src/engine/health';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';

const T0 = Date.parse('2025-06-01T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const TRANSIENT = { outcome: 'server-transient', reply: '421 4.3.2 Service not available' } as const;
const REFUSED = { outcome: 'server-transient', reply: null } as const;

let redis: Redis;
let prefix: string;
/** Extra clients, standing in for other processes. */
const otherClients: Redis[] = [];

beforeAll(() => {
  redis = testRedis();
  prefix = redisTestPrefix();
});

afterEach(async () => {
  await deleteKeys(redis, prefix);
});

afterAll(async () => {
  await Promise.all(otherClients.map((client) => client.quit()));
  await redis.quit();
});

/** A store with no rules unless given, so breaker tests aren't disturbed by the defaults. */
const storeWith = (options: Partial<HealthStoreOptions> = {}, client: Redis = redis) =>
  createHealthStore(client, { keyPrefix: prefix, rules: [], ...options });

describe('the breaker', () => {
  test('opens after 5 server failures in a row, and then admits nobody', async () => {
    const store = storeWith();
    for (let i = 0; i < 4; i += 1) {
      const health = await store.recordFailure('s1', TRANSIENT, T0 + i);
      expect(health).toMatchObject({ state: 'closed', consecutiveFailures: i + 1, suspendedUntil: null });
    }
    expect(await store.admit('s1', T0 + 4)).toEqual({ allowed: true, probe: false });

    const opened = await store.recordFailure('s1', REFUSED, T0 + 5);
    expect(opened).toEqual({
      state: 'open',
      suspendedUntil: T0 + 5 + 30 * SECOND,
      reason: '5 failures in a row, last: server-transient (no reply)',
      source: 'breaker',
      consecutiveFailures: 5,
      cooldownMs: 30 * SECOND,
      throttle: null,
    });
    expect(await store.get('s1', T0 + 6)).toEqual(opened);
    expect(await store.admit('s1', T0 + 6)).toEqual({ allowed: false, probe: false });
    expect(await store.admit('s1', T0 + 5 + 30 * SECOND - 1)).toEqual({ allowed: false, probe: false });
  });

  test('a success in between starts the count again', async () => {
    const store = storeWith();
    for (let i = 0; i < 4; i += 1) await store.recordFailure('s1', TRANSIENT, T0);
    await store.recordSuccess('s1', T0);
    for (let i = 0; i < 4; i += 1) await store.recordFailure('s1', TRANSIENT, T0);
    expect(await store.get('s1', T0)).toMatchObject({ state: 'closed', consecutiveFailures: 4 });
  });

  test('recipient and message outcomes never count against the server (they count as the server working)', async () => {
    const store = storeWith({ breaker: { failureThreshold: 2 } });
    await store.recordFailure('s1', TRANSIENT, T0);
    for (const outcome of ['recipient-hard', 'recipient-soft', 'message-rejected'] as const) {
      for (let i = 0; i < 5; i += 1) {
        const health = await store.recordFailure(
          's1',
          { outcome, reply: '550 5.1.1 <x@example.test>: User unknown' },
          T0
        );
        expect(health).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
      }
    }
  });

  test('server-condemned suspends at once, with the reply as the reason', async () => {
    const store = storeWith();
    const reply = '535 5.7.8 Authentication credentials invalid';
    const health = await store.recordFailure('s1', { outcome: 'server-condemned', reply }, T0);
    expect(health).toMatchObject({
      state: 'open',
      source: 'breaker',
      reason: reply,
      suspendedUntil: T0 + 30 * SECOND,
      consecutiveFailures: 1,
    });
  });

  test('each failed probe doubles the cooldown up to the maximum; a successful probe resets it', async () => {
    const store = storeWith({ breaker: { failureThreshold: 1, baseCooldownMs: 1000, maxCooldownMs: 5000 } });
    let now = T0;
    let health = await store.recordFailure('s1', TRANSIENT, now);
    const cooldowns = [health.cooldownMs];
    for (let round = 0; round < 4; round += 1) {
      now = health.suspendedUntil as number;
      expect(await store.get('s1', now)).toMatchObject({ state: 'half-open' });
      expect(await store.admit('s1', now)).toEqual({ allowed: true, probe: true });
      health = await store.recordFailure('s1', TRANSIENT, now + 10);
      expect(health).toMatchObject({ state: 'open', source: 'breaker' });
      expect(health.reason).toMatch(/^probe failed: 421/);
      expect(health.suspendedUntil).toBe(now + 10 + health.cooldownMs);
      cooldowns.push(health.cooldownMs);
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 5000, 5000]);

    now = health.suspendedUntil as number;
    expect(await store.admit('s1', now)).toEqual({ allowed: true, probe: true });
    await store.recordSuccess('s1', now + 10);
    expect(await store.get('s1', now + 20)).toEqual({
      state: 'closed',
      suspendedUntil: null,
      reason: null,
      source: null,
      consecutiveFailures: 0,
      cooldownMs: 0,
      throttle: null,
    });
    expect(await store.admit('s1', now + 20)).toEqual({ allowed: true, probe: false });
    // The next opening starts from the base cooldown again.
    expect((await store.recordFailure('s1', TRANSIENT, now + 30)).cooldownMs).toBe(1000);
  });

  test('a late success from an attempt started before the breaker opened does not close it', async () => {
    const store = storeWith({ breaker: { failureThreshold: 1 } });
    await store.recordFailure('s1', TRANSIENT, T0);
    await store.recordSuccess('s1', T0 + 100);
    expect(await store.get('s1', T0 + 200)).toMatchObject({ state: 'open', consecutiveFailures: 1 });
  });

  test('late failures while open neither count again nor move the cooldown', async () => {
    const store = storeWith({ breaker: { failureThreshold: 1 } });
    const opened = await store.recordFailure('s1', TRANSIENT, T0);
    const later = await store.recordFailure('s1', TRANSIENT, T0 + 100);
    expect(later).toEqual(opened);
  });
});

describe('half-open: one probe across all processes', () => {
  test('of 50 concurrent admit() calls from 5 clients, exactly one gets the probe', async () => {
    const clients = Array.from({ length: 5 }, () => {
      const client = redis.duplicate();
      otherClients.push(client);
      return client;
    });
    const stores = clients.map((client) => storeWith({ breaker: { failureThreshold: 1 } }, client));
    const first = stores[0]!;
    await first.recordFailure('s1', TRANSIENT, T0);
    const cooldownOver = T0 + 30 * SECOND;

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) => stores[index % stores.length]!.admit('s1', cooldownOver + index))
    );
    expect(results.filter(({ allowed }) => allowed)).toEqual([{ allowed: true, probe: true }]);
    expect(results.filter(({ allowed, probe }) => !allowed && !probe)).toHaveLength(49);

    // The probe never reports back: once its lease (60 s) runs out, someone else may probe.
    expect(await first.admit('s1', cooldownOver + 59 * SECOND)).toEqual({ allowed: false, probe: false });
    expect(await first.admit('s1', cooldownOver + 60 * SECOND + 100)).toEqual({ allowed: true, probe: true });
  });

  test("the probe's success closes the breaker for everyone", async () => {
    const store = storeWith({ breaker: { failureThreshold: 1 } });
    await store.recordFailure('s1', TRANSIENT, T0);
    const cooldownOver = T0 + 30 * SECOND;
    expect(await store.admit('s1', cooldownOver)).toEqual({ allowed: true, probe: true });
    expect(await store.admit('s1', cooldownOver + 1)).toEqual({ allowed: false, probe: false });
    await store.recordSuccess('s1', cooldownOver + 500);
    expect(await store.admit('s1', cooldownOver + 501)).toEqual({ allowed: true, probe: false });
    expect(await store.admit('s1', cooldownOver + 502)).toEqual({ allowed: true, probe: false });
  });
});

describe('manual suspension', () => {
  test('suspend holds the server whatever happens; resume lifts everything', async () => {
    const rule: ResponseRule = {
      id: 'slow-down',
      pattern: 'slow down',
      action: 'throttle',
      ratePerSecond: 2,
      durationMs: HOUR,
      description: 'Asked to slow down',
    };
    const store = storeWith({ rules: [rule] });
    await store.recordFailure('s1', { outcome: 'server-transient', reply: '421 4.7.0 slow down' }, T0);
    await store.suspend('s1', T0 + 24 * HOUR, 'Maintenance window at the provider', 'manual', T0);

    expect(await store.get('s1', T0 + 1)).toMatchObject({
      state: 'open',
      suspendedUntil: T0 + 24 * HOUR,
      reason: 'Maintenance window at the provider',
      source: 'manual',
      consecutiveFailures: 1,
      throttle: { ratePerSecond: 2, until: T0 + HOUR },
    });
    expect(await store.admit('s1', T0 + 1)).toEqual({ allowed: false, probe: false });

    // Neither a condemned reply nor a late success changes a manual suspension.
    await store.recordFailure('s1', { outcome: 'server-condemned', reply: '535 5.7.8 Bad login' }, T0 + 2);
    await store.recordSuccess('s1', T0 + 3);
    expect(await store.get('s1', T0 + 4)).toMatchObject({
      state: 'open',
      source: 'manual',
      suspendedUntil: T0 + 24 * HOUR,
    });

    await store.resume('s1');
    expect(await store.get('s1', T0 + 5)).toEqual({
      state: 'closed',
      suspendedUntil: null,
      reason: null,
      source: null,
      consecutiveFailures: 0,
      cooldownMs: 0,
      throttle: null,
    });
    expect(await store.admit('s1', T0 + 5)).toEqual({ allowed: true, probe: false });
    expect(await redis.keys(`${prefix}:health:*`)).toEqual([]);
  });

  test('suspend replaces a longer breaker suspension (an admin may shorten it); expired, it goes half-open', async () => {
    const store = storeWith({ breaker: { failureThreshold: 1 } });
    await store.recordFailure('s1', { outcome: 'server-condemned', reply: '535 5.7.8 Bad login' }, T0);
    await store.suspend('s1', T0 + 5 * SECOND, 'Password fixed, try again soon', 'manual', T0);
    expect(await store.get('s1', T0 + 5 * SECOND)).toMatchObject({ state: 'half-open', source: 'manual' });
    expect(await store.admit('s1', T0 + 5 * SECOND)).toEqual({ allowed: true, probe: true });
  });

  test('suspend refuses an infinite time', async () => {
    await expect(storeWith().suspend('s1', Number.POSITIVE_INFINITY, 'forever', 'manual')).rejects.toThrow(/finite/);
  });
});

describe('response rules', () => {
  const threeInTenMinutes: ResponseRule = {
    id: 'deferred',
    pattern: String.raw`^4\d\d 4\.7\.\d+ .*deferred`,
    action: 'suspend',
    durationMs: 10 * MINUTE,
    threshold: { count: 3, windowMs: 10 * MINUTE },
    description: 'Deferred three times',
  };
  const deferred = { outcome: 'server-transient', reply: '450 4.7.1 Temporarily deferred' } as const;

  test('a "3 in 10 minutes" rule triggers on the 3rd match only', async () => {
    const store = storeWith({ rules: [threeInTenMinutes] });
    expect((await store.recordFailure('s1', deferred, T0)).state).toBe('closed');
    expect((await store.recordFailure('s1', deferred, T0 + 4 * MINUTE)).state).toBe('closed');
    // Another server's matches are counted apart.
    expect((await store.recordFailure('s2', deferred, T0 + 5 * MINUTE)).state).toBe('closed');
    // A reply the rule doesn't match doesn't count.
    await store.recordFailure('s1', TRANSIENT, T0 + 6 * MINUTE);
    expect((await store.get('s1', T0 + 6 * MINUTE)).state).toBe('closed');

    const third = await store.recordFailure('s1', deferred, T0 + 9 * MINUTE);
    expect(third).toMatchObject({
      state: 'open',
      source: 'rule',
      suspendedUntil: T0 + 19 * MINUTE,
      reason: 'Deferred three times: 450 4.7.1 Temporarily deferred',
    });
    expect((await store.get('s2', T0 + 9 * MINUTE)).state).toBe('closed');
  });

  test('matches that slide out of the window no longer count; after a trigger, counting starts afresh', async () => {
    const store = storeWith({ rules: [threeInTenMinutes] });
    await store.recordFailure('s1', deferred, T0);
    await store.recordFailure('s1', deferred, T0 + 6 * MINUTE);
    // T0 is now 10 minutes old: out of the window, so this is only the 2nd.
    expect((await store.recordFailure('s1', deferred, T0 + 10 * MINUTE)).state).toBe('closed');
    expect((await store.recordFailure('s1', deferred, T0 + 11 * MINUTE)).state).toBe('open');

    // Resumed by hand right away; the window was emptied by the trigger: two more don't trigger.
    await store.suspend('s1', T0 + 11 * MINUTE, 'lifted', 'manual', T0 + 11 * MINUTE);
    await store.recordSuccess('s1', T0 + 11 * MINUTE);
    expect((await store.recordFailure('s1', deferred, T0 + 12 * MINUTE)).state).toBe('closed');
    expect((await store.recordFailure('s1', deferred, T0 + 13 * MINUTE)).state).toBe('closed');
    expect((await store.recordFailure('s1', deferred, T0 + 14 * MINUTE)).state).toBe('open');
  });

  test('a throttle rule sets a throttle that ends on time; two throttles keep the stricter rate', async () => {
    const store = storeWith({
      rules: [
        {
          id: 'busy',
          pattern: 'busy',
          action: 'throttle',
          ratePerSecond: 5,
          durationMs: 5 * MINUTE,
          description: 'Busy',
        },
        {
          id: 'slow-down',
          pattern: 'slow down',
          action: 'throttle',
          ratePerSecond: 1,
          durationMs: MINUTE,
          description: 'Slow down',
        },
      ],
    });
    const busy = await store.recordFailure('s1', { outcome: 'server-transient', reply: '421 4.7.0 busy' }, T0);
    expect(busy).toMatchObject({ state: 'closed', throttle: { ratePerSecond: 5, until: T0 + 5 * MINUTE } });

    const both = await store.recordFailure(
      's1',
      { outcome: 'server-transient', reply: '421 4.7.0 slow down' },
      T0 + MINUTE
    );
    expect(both.throttle).toEqual({ ratePerSecond: 1, until: T0 + 5 * MINUTE });

    expect((await store.get('s1', T0 + 5 * MINUTE - 1)).throttle).not.toBeNull();
    expect((await store.get('s1', T0 + 5 * MINUTE)).throttle).toBeNull();
  });

  test('a rule acting at once suspends on the first match; the longer of breaker and rule wins', async () => {
    const store = storeWith({
      breaker: { failureThreshold: 1 },
      rules: [
        { id: 'quota', pattern: 'quota exceeded', action: 'suspend', durationMs: HOUR, description: 'Quota used up' },
      ],
    });
    const health = await store.recordFailure(
      's1',
      { outcome: 'server-transient', reply: '454 Throttling failure: Daily message quota exceeded.' },
      T0
    );
    expect(health).toMatchObject({
      state: 'open',
      source: 'rule',
      suspendedUntil: T0 + HOUR,
      reason: 'Quota used up: 454 Throttling failure: Daily message quota exceeded.',
      // The breaker counted it too, and its cooldown is ready for the probe's failure.
      consecutiveFailures: 1,
      cooldownMs: 30 * SECOND,
    });
  });

  test('rules are checked when the store is made', () => {
    const rule: ResponseRule = { id: 'x', pattern: '(', action: 'suspend', durationMs: 1000, description: 'broken' };
    expect(() => storeWith({ rules: [rule] })).toThrow(/rule x: invalid pattern/);
    expect(() => storeWith({ rules: [{ ...rule, pattern: 'ok', id: 'has space' }] })).toThrow(/rule id/);
    expect(() => storeWith({ rules: [{ ...rule, pattern: 'ok', action: 'throttle' }] })).toThrow(/ratePerSecond/);
    expect(() =>
      storeWith({
        rules: [
          { ...rule, pattern: 'ok' },
          { ...rule, pattern: 'ok' },
        ],
      })
    ).toThrow(/two rules/);
  });
});

describe('the default rules', () => {
  /** Replies as real providers send them (IPs from the documentation range). */
  const samples: Record<string, string[]> = {
    'gmail-unusual-rate': [
      '421-4.7.28 [192.0.2.1      15] Our system has detected an unusual rate of\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\n421-4.7.28 users from spam, mail sent from your IP address has been temporarily\n421 4.7.28 rate limited. For more information, go to https://support.google.com/mail/?p=UnsolicitedRateLimitError - gsmtp',
    ],
    'yahoo-deferral': [
      '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
    ],
    'microsoft-server-busy': [
      '451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77719) [BN8NAM12FT005.eop-nam12.prod.protection.outlook.com]',
    ],
    'ip-reputation-deferral': [
      '421-4.7.0 [192.0.2.1      15] Our system has detected that this message is\n421-4.7.0 suspicious due to the very low reputation of the sending IP address.\n421 4.7.0 To protect our users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp',
      '451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.',
    ],
    'too-many-connections': [
      '421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later.',
      '421 Too many connections from your IP (rate controlled)',
      '421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel',
    ],
    'ses-max-send-rate': ['454 Throttling failure: Maximum sending rate exceeded.'],
    'sending-quota-exceeded': [
      '454 Throttling failure: Daily message quota exceeded.',
      '550 5.4.5 Daily user sending quota exceeded. https://support.google.com/mail/?p=ReachedLimit - gsmtp',
      '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception',
    ],
    'repeated-policy-deferral': [
      '450 4.7.1 Client host rejected: try again later',
      '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints',
    ],
  };

  test('every default rule has a sample', () => {
    expect(Object.keys(samples).sort()).toEqual(DEFAULT_RESPONSE_RULES.map(({ id }) => id).sort());
  });

  test.each(DEFAULT_RESPONSE_RULES.map((rule) => [rule.id, rule] as const))('%s matches its samples', (_id, rule) => {
    const regex = new RegExp(rule.pattern, 'i');
    for (const sample of samples[rule.id] ?? [])
      expect({ sample, matches: regex.test(sample) }).toEqual({ sample, matches: true });
  });

  test.each([
    '250 OK',
    '250 2.0.0 OK: queued as 1A2B3C',
    '550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table',
    '452 4.2.2 Mailbox full',
    '450 4.7.1 <someone@example.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.test.html',
    '554 5.7.1 Message rejected as spam',
    '421 4.3.2 Service not available, closing transmission channel',
  ])('no default rule matches %j', (reply) => {
    const matching = DEFAULT_RESPONSE_RULES.filter((rule) => new RegExp(rule.pattern, 'i').test(reply)).map(
      ({ id }) => id
    );
    expect(matching).toEqual([]);
  });

  test('the defaults in action: an SES rate refusal throttles, a Gmail 4.7.28 suspends for an hour', async () => {
    const store = createHealthStore(redis, { keyPrefix: prefix });
    const ses = await store.recordFailure(
      'ses',
      { outcome: 'server-transient', reply: '454 Throttling failure: Maximum sending rate exceeded.' },
      T0
    );
    expect(ses).toMatchObject({ state: 'closed', throttle: { ratePerSecond: 1, until: T0 + MINUTE } });

    const gmail = await store.recordFailure(
      'gmail',
      { outcome: 'server-transient', reply: samples['gmail-unusual-rate']![0]! },
      T0
    );
    expect(gmail).toMatchObject({ state: 'open', source: 'rule', suspendedUntil: T0 + HOUR });
  });
});

describe('reading and keys', () => {
  test('getMany reads several servers at once; unknown ones are closed', async () => {
    const store = storeWith({ breaker: { failureThreshold: 1 } });
    await store.recordFailure('down', TRANSIENT, T0);
    await store.recordFailure('shaky', { outcome: 'server-transient', reply: null }, T0);
    await store.suspend('shaky', T0 - 1, 'ended', 'manual', T0);

    const healths = await store.getMany(['down', 'shaky', 'fine', 'down'], T0 + 1);
    expect([...healths.keys()]).toEqual(['down', 'shaky', 'fine']);
    expect(healths.get('down')?.state).toBe('open');
    expect(healths.get('shaky')?.state).toBe('half-open');
    expect(healths.get('fine')).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect((await store.getMany([], T0)).size).toBe(0);
  });

  test('keys carry the per-server hash tag and expire; a healthy server leaves no key', async () => {
    const store = storeWith({
      rules: [{ ...threeInTenMinutesRule(), id: 'counted' }],
      retentionMs: HOUR,
    });
    await store.recordFailure('s1', { outcome: 'server-transient', reply: '450 4.7.1 deferred' }, T0);
    const keys = (await redis.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([`${prefix}:health:{srv:s1}:rule:counted`, `${prefix}:health:{srv:s1}:state`]);
    for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await redis.pttl(`${prefix}:health:{srv:s1}:state`)).toBeLessThanOrEqual(HOUR);

    await store.recordSuccess('s1', T0 + 1);
    expect(await redis.exists(`${prefix}:health:{srv:s1}:state`)).toBe(0);
  });
});

function threeInTenMinutesRule(): ResponseRule {
  return {
    id: 'deferred',
    pattern: 'deferred',
    action: 'suspend',
    durationMs: 10 * MINUTE,
    threshold: { count: 3, windowMs: 10 * MINUTE },
    description: 'Deferred three times',
  };
}

describe('rules replaced at runtime (setRules)', () => {
  const custom: ResponseRule = {
    id: 'custom.abc',
    pattern: String.raw`\(CUSTOM-42\)`,
    action: 'throttle',
    ratePerSecond: 2,
    durationMs: MINUTE,
    description: 'Custom slow down',
  };
  const reply = { outcome: 'server-transient', reply: '451 4.7.1 Slow down please (CUSTOM-42)' } as const;

  test('replies recorded after a change are matched against the new rules only', async () => {
    const store = storeWith();
    expect((await store.recordFailure('s1', reply, T0)).throttle).toBeNull();
    store.setRules([custom]);
    expect(store.rules().map((rule) => rule.id)).toEqual(['custom.abc']);
    expect((await store.recordFailure('s2', reply, T0)).throttle).toEqual({ ratePerSecond: 2, until: T0 + MINUTE });
    store.setRules([]);
    expect((await store.recordFailure('s3', reply, T0)).throttle).toBeNull();
  });

  test('a bad set is refused whole and the rules in force stay', () => {
    const store = storeWith({ rules: [custom] });
    expect(() => store.setRules([{ ...custom, id: 'other', pattern: '(unclosed' }])).toThrow(/invalid pattern/);
    expect(() => store.setRules([custom, custom])).toThrow(/two rules have the id/);
    expect(store.rules().map((rule) => rule.id)).toEqual(['custom.abc']);
  });

  test('resume clears the windows of rules dropped since they counted', async () => {
    const counted: ResponseRule = { ...custom, action: 'suspend', threshold: { count: 3, windowMs: MINUTE } };
    const store = storeWith({ rules: [counted] });
    await store.recordFailure('s1', reply, T0);
    const windowKey = `${prefix}:health:{srv:s1}:rule:custom.abc`;
    expect(await redis.zcard(windowKey)).toBe(1);
    store.setRules([]);
    await store.resume('s1');
    expect(await redis.exists(windowKey)).toBe(0);
  });
});
