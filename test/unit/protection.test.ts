import type { AlertEvidence, AlertSample, ProtectionOutcome, ProtectionRuleId } from '../../shared/contracts/alerts';
import type { AttemptRecord, MessageLogEntry } from '../../shared/contracts/messages';
import {
  createProtectionMonitor,
  evaluateWindow,
  outcomeOfEngineEvent,
  percent,
  rateOf,
  settingsOf,
  summaryOf,
  type Observation,
  type ProtectionSettings,
  type Verdict,
  type WindowState,
  type WindowStore,
} from '../../server/src/engine/protection';

const zeroCounts = (): Record<ProtectionOutcome, number> => ({ accepted: 0, hardBounce: 0, softBounce: 0, complaint: 0, failed: 0 });

/**
 * An in-memory window with the Redis store's semantics (engine/protection.ts OBSERVE_LUA): a ring of
 * N slots, an after-accept report turning the newest accepted slot into its own kind.
 */
const fakeStore = (): WindowStore & { slots: Map<string, ProtectionOutcome[]> } => {
  const slots = new Map<string, ProtectionOutcome[]>();
  const trips = new Map<string, Set<ProtectionRuleId>>();
  const samples = new Map<string, AlertSample[]>();
  const tripsOf = (serverId: string) => trips.get(serverId) ?? trips.set(serverId, new Set()).get(serverId)!;
  const stateOf = (serverId: string, window: number): WindowState => {
    const ring = slots.get(serverId) ?? [];
    const counts = zeroCounts();
    for (const slot of ring) counts[slot] += 1;
    return { window, sends: ring.length, counts, tripped: [...tripsOf(serverId)] };
  };
  const observeOne = (ring: ProtectionOutcome[], serverId: string, observation: Observation, window: number) => {
    const newest = observation.afterAccept ? ring.lastIndexOf('accepted') : -1;
    if (newest >= 0) ring[newest] = observation.outcome;
    else {
      ring.push(observation.outcome);
      if (ring.length > window) ring.shift();
    }
    if (observation.outcome !== 'accepted' && observation.reply) {
      samples.set(serverId, [{ outcome: observation.outcome, reply: observation.reply, at: observation.at ?? 0 }, ...(samples.get(serverId) ?? [])].slice(0, 5));
    }
  };
  return {
    slots,
    async observe(serverId, observations: Observation[], window) {
      const ring = slots.get(serverId) ?? [];
      slots.set(serverId, ring);
      for (const observation of observations) observeOne(ring, serverId, observation, window);
      return stateOf(serverId, window);
    },
    async claim(serverId, rule) {
      if (tripsOf(serverId).has(rule)) return false;
      tripsOf(serverId).add(rule);
      return true;
    },
    async unclaim(serverId, rule) {
      tripsOf(serverId).delete(rule);
    },
    async samples(serverId) {
      return samples.get(serverId) ?? [];
    },
    async read(serverId) {
      return stateOf(serverId, 0);
    },
    async reset(serverId, untrip) {
      slots.delete(serverId);
      samples.delete(serverId);
      for (const rule of untrip) tripsOf(serverId).delete(rule);
    },
  };
};

const SETTINGS: ProtectionSettings = {
  window: 100,
  minSends: 50,
  rules: [
    { id: 'bounceRate', threshold: 0.05, action: 'pause', weightFactor: 0.25 },
    { id: 'complaintRate', threshold: 0.003, action: 'reduce-weight', weightFactor: 0.25 },
  ],
};

const state = (sends: number, counts: Partial<Record<ProtectionOutcome, number>>, tripped: ProtectionRuleId[] = []): WindowState => ({
  window: 100,
  sends,
  counts: { ...zeroCounts(), ...counts },
  tripped,
});

describe('settingsOf', () => {
  it('lists the rules that are on, in a fixed order', () => {
    expect(
      settingsOf({
        enabled: true,
        window: 1000,
        minSends: 100,
        rules: {
          complaintRate: { threshold: 0.003, action: 'pause', weightFactor: 0.25 },
          bounceRate: { threshold: 0.05, action: 'reduce-weight', weightFactor: 0.5 },
          failureRate: null,
        },
      })
    ).toEqual({
      window: 1000,
      minSends: 100,
      rules: [
        { id: 'bounceRate', threshold: 0.05, action: 'reduce-weight', weightFactor: 0.5 },
        { id: 'complaintRate', threshold: 0.003, action: 'pause', weightFactor: 0.25 },
      ],
    });
  });

  it('is null when protection is off or has no rule', () => {
    const rules = { bounceRate: { threshold: 0.05, action: 'pause' as const, weightFactor: 0.25 } };
    expect(settingsOf({ enabled: false, window: 10, minSends: 5, rules })).toBeNull();
    expect(settingsOf({ enabled: true, window: 10, minSends: 5, rules: { bounceRate: null, complaintRate: null } })).toBeNull();
  });
});

describe('evaluateWindow', () => {
  it('judges nothing below minSends, however bad', () => {
    expect(evaluateWindow(state(49, { hardBounce: 49 }), SETTINGS)).toEqual([]);
  });

  it('counts hard and soft bounces over the sends, strictly above the threshold', () => {
    expect(evaluateWindow(state(100, { accepted: 95, hardBounce: 3, softBounce: 2 }), SETTINGS)).toEqual([]);
    const [verdict, ...rest] = evaluateWindow(state(100, { accepted: 94, hardBounce: 4, softBounce: 2 }), SETTINGS);
    expect(rest).toEqual([]);
    expect(verdict).toEqual({
      rule: 'bounceRate',
      action: 'pause',
      weightFactor: null,
      rate: 0.06,
      threshold: 0.05,
      evidence: {
        window: 100,
        sends: 100,
        minSends: 50,
        counts: { accepted: 94, hardBounce: 4, softBounce: 2, complaint: 0, failed: 0 },
        rate: 0.06,
        threshold: 0.05,
        weightFactor: null,
      },
    });
  });

  it('reports every rule that crossed, and none already tripped', () => {
    const crossed = state(60, { accepted: 50, hardBounce: 9, complaint: 1 });
    expect(evaluateWindow(crossed, SETTINGS).map((verdict) => [verdict.rule, verdict.action, verdict.weightFactor])).toEqual([
      ['bounceRate', 'pause', null],
      ['complaintRate', 'reduce-weight', 0.25],
    ]);
    expect(evaluateWindow({ ...crossed, tripped: ['bounceRate'] }, SETTINGS).map((verdict) => verdict.rule)).toEqual(['complaintRate']);
  });

  it('has a failure rate when configured', () => {
    const settings: ProtectionSettings = { ...SETTINGS, rules: [{ id: 'failureRate', threshold: 0.2, action: 'pause', weightFactor: 0.25 }] };
    expect(rateOf('failureRate', state(50, { failed: 11 }))).toBeCloseTo(0.22);
    expect(evaluateWindow(state(50, { accepted: 39, failed: 11 }), settings).map((verdict) => verdict.rule)).toEqual(['failureRate']);
    expect(rateOf('bounceRate', state(0, {}))).toBe(0);
  });
});

describe('summaryOf and percent', () => {
  it('reads as a person would say it', () => {
    expect(percent(0.05)).toBe('5 %');
    expect(percent(0.003)).toBe('0.3 %');
    expect(percent(0.0625)).toBe('6.25 %');
    expect(percent(1 / 3)).toBe('33.3 %');
    const [pause] = evaluateWindow(state(100, { accepted: 88, hardBounce: 12 }), SETTINGS);
    expect(summaryOf(pause!)).toBe('bounce rate 12 % over the last 100 sends (threshold 5 %): paused');
    const [cut] = evaluateWindow(state(100, { accepted: 99, complaint: 1 }), SETTINGS);
    expect(summaryOf(cut!)).toBe('complaint rate 1 % over the last 100 sends (threshold 0.3 %): weight cut to 25 %');
  });
});

describe('protection monitor', () => {
  const setup = (settings: ProtectionSettings | null = SETTINGS) => {
    const store = fakeStore();
    const trips: Array<{ serverId: string; verdict: Verdict & { evidence: AlertEvidence } }> = [];
    let failTrip = false;
    const monitor = createProtectionMonitor({
      store,
      settings: () => settings,
      clock: () => 1_000_000,
      trip: async (serverId, verdict) => {
        if (failTrip) throw new Error('database down');
        trips.push({ serverId, verdict });
      },
    });
    return { store, trips, monitor, failNextTrips: (fail: boolean) => (failTrip = fail) };
  };

  /** 10 % of recipients refused with 550 5.7.1, spread evenly. */
  const send = async (monitor: ReturnType<typeof setup>['monitor'], serverId: string, count: number, offset = 0) => {
    for (let index = offset; index < offset + count; index += 1) {
      const refused = index % 10 === 9;
      await monitor.observe(serverId, {
        outcome: refused ? 'hardBounce' : 'accepted',
        reply: refused ? `550 5.7.1 <r${index}@example.com>: Recipient address rejected: Access denied` : null,
      });
    }
  };

  it('trips once when the rate crosses after minSends, with the evidence and the latest replies', async () => {
    const { monitor, trips } = setup();
    await send(monitor, 'a', 49);
    expect(trips).toEqual([]);
    await send(monitor, 'a', 200, 49);
    expect(trips).toHaveLength(1);
    const [{ serverId, verdict }] = trips as [(typeof trips)[number]];
    expect(serverId).toBe('a');
    expect(verdict.rule).toBe('bounceRate');
    expect(verdict.action).toBe('pause');
    // The 50th send makes minSends with 5 refusals in 50 (10 %).
    expect(verdict.evidence).toMatchObject({ window: 100, sends: 50, minSends: 50, rate: 0.1, threshold: 0.05, at: 1_000_000 });
    expect(verdict.evidence.counts).toEqual({ accepted: 45, hardBounce: 5, softBounce: 0, complaint: 0, failed: 0 });
    expect(verdict.evidence.samples).toHaveLength(5);
    expect(verdict.evidence.samples[0]!.reply).toBe('550 5.7.1 <r49@example.com>: Recipient address rejected: Access denied');
  });

  it('raises nothing below the threshold, and keeps the servers apart', async () => {
    const { monitor, trips } = setup();
    // 4 % on server b: below 5 %.
    for (let index = 0; index < 300; index += 1) {
      await monitor.observe('b', { outcome: index % 25 === 24 ? 'hardBounce' : 'accepted' });
    }
    await send(monitor, 'c', 49);
    expect(trips).toEqual([]);
  });

  it('counts a later report in place of the acceptance, so sends are counted once', async () => {
    const { monitor, store, trips } = setup({ ...SETTINGS, rules: [SETTINGS.rules[1]!] });
    for (let index = 0; index < 60; index += 1) await monitor.observe('d', { outcome: 'accepted' });
    await monitor.observe('d', { outcome: 'complaint', afterAccept: true, reply: 'abuse report' });
    expect(store.slots.get('d')).toHaveLength(60);
    expect(trips.map((trip) => [trip.verdict.rule, trip.verdict.action, trip.verdict.evidence.counts.complaint, trip.verdict.evidence.sends])).toEqual([
      ['complaintRate', 'reduce-weight', 1, 60],
    ]);
  });

  it('trips again after a reset only when the new window crosses', async () => {
    const { monitor, store, trips } = setup();
    await send(monitor, 'e', 100);
    expect(trips).toHaveLength(1);
    await store.reset('e', ['bounceRate']);
    await send(monitor, 'e', 49);
    expect(trips).toHaveLength(1);
    await send(monitor, 'e', 1, 49);
    expect(trips).toHaveLength(2);
  });

  it('gives the claim back when acting fails, so the next observation tries again', async () => {
    const { monitor, trips, failNextTrips } = setup();
    failNextTrips(true);
    await send(monitor, 'f', 49);
    await expect(send(monitor, 'f', 1, 49)).rejects.toThrow('database down');
    failNextTrips(false);
    await monitor.observe('f', { outcome: 'accepted' });
    expect(trips).toHaveLength(1);
  });

  it('does nothing while protection is off', async () => {
    const { monitor, store, trips } = setup(null);
    await send(monitor, 'g', 200);
    expect(trips).toEqual([]);
    expect(store.slots.size).toBe(0);
  });
});

describe('outcomeOfEngineEvent', () => {
  const attempt = (serverId: string, outcome: AttemptRecord['outcome'], reply: string | null = null): AttemptRecord => ({
    at: 1,
    serverId,
    serverName: serverId,
    outcome,
    reply,
    latencyMs: 5,
  });
  const entry = (attempts: AttemptRecord[]): MessageLogEntry => ({
    id: 'm1',
    status: 'sent',
    from: null,
    recipients: ['r@example.com'],
    subject: 's',
    group: 'g',
    serverId: attempts.at(-1)?.serverId ?? null,
    serverName: null,
    attempts,
    lastReply: attempts.at(-1)?.reply ?? null,
    smtpMessageId: null,
    idempotencyKey: null,
    source: 'api',
    campaignId: null,
    subscriberId: null,
    queuedAt: 0,
    sentAt: null,
    finishedAt: 10,
  });

  it('maps each event to the server of the attempt that decided it', () => {
    const failover = entry([attempt('s1', 'server-transient', '421 busy'), attempt('s2', 'accepted', '250 ok')]);
    expect(outcomeOfEngineEvent('sent', failover)).toEqual({ serverId: 's2', outcome: 'accepted', reply: null });
    const refused = entry([attempt('s1', 'recipient-hard', '550 5.7.1 refused')]);
    expect(outcomeOfEngineEvent('bounced', refused)).toEqual({ serverId: 's1', outcome: 'hardBounce', reply: '550 5.7.1 refused' });
    const rejected = entry([attempt('s3', 'message-rejected', '554 5.7.1 spam')]);
    expect(outcomeOfEngineEvent('failed', rejected)).toEqual({ serverId: 's3', outcome: 'failed', reply: '554 5.7.1 spam' });
    const full = entry([attempt('s1', 'recipient-soft', '452 4.2.2 mailbox full')]);
    expect(outcomeOfEngineEvent('deferred', full)).toEqual({ serverId: 's1', outcome: 'softBounce', reply: '452 4.2.2 mailbox full' });
  });

  it('ignores what says nothing about a server', () => {
    expect(outcomeOfEngineEvent('queued', entry([]))).toBeNull();
    expect(outcomeOfEngineEvent('skipped', entry([]))).toBeNull();
    expect(outcomeOfEngineEvent('failed', entry([]))).toBeNull();
    expect(outcomeOfEngineEvent('deferred', entry([attempt('s1', 'server-transient', '421 busy')]))).toBeNull();
  });
});
