import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import type Redis from 'ioredis';

import {
  createQuotaStore,
  type QuotaLimits,
  type Reservation,
  type ReserveResult,
} from '../../server/src/engine/quota';
import { deleteKeys, redisTestPrefix, TEST_REDIS_URL, testRedis } from '../helpers/redis';

/** A fixed instant in the middle of an hour; every test drives the quota clock from here. */
const BASE = Date.parse('2030-01-15T10:20:00.000Z');
const HOUR_END = Date.parse('2030-01-15T11:00:00.000Z');
const UTC_DAY_END = Date.parse('2030-01-16T00:00:00.000Z');

const NO_LIMITS: QuotaLimits = { perSecond: null, perHour: null, perDay: null, maxConnections: null };
const limits = (some: Partial<QuotaLimits>): QuotaLimits => ({ ...NO_LIMITS, ...some });

/** The reservation of a granted result; fails the test with the refusal otherwise. */
const granted = (result: ReserveResult): Reservation => {
  if (!result.ok) throw new Error(`expected a grant, got a refusal: ${JSON.stringify(result)}`);
  return result.reservation;
};

describe('quota store (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let serverCounter = 0;
  /** A fresh server id per test, so tests never see each other's counters. */
  const newServerId = () => `server-${++serverCounter}`;

  beforeAll(() => {
    redis = testRedis();
    prefix = redisTestPrefix();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  const newStore = (options: { timeZone?: string; leaseMs?: number; connectionRetryMs?: number } = {}) =>
    createQuotaStore(redis, { keyPrefix: prefix, timeZone: 'UTC', ...options });

  describe('hour limit', () => {
    it('refuses exactly at the cap, until the end of the hour window', async () => {
      const store = newStore();
      const server = newServerId();
      const perHour = limits({ perHour: 3 });
      for (let i = 0; i < 3; i++) granted(await store.reserve(server, perHour, BASE + i));
      expect(await store.reserve(server, perHour, BASE + 10)).toEqual({ ok: false, reason: 'hour', retryAt: HOUR_END });
      expect(await store.reserve(server, perHour, HOUR_END - 1)).toMatchObject({ ok: false, reason: 'hour' });
      // The next hour is a new window.
      granted(await store.reserve(server, perHour, HOUR_END));
      expect((await store.usage(server, perHour, HOUR_END)).hour).toBe(1);
    });

    it('release(accepted: false) gives the slot back; accepted: true does not', async () => {
      const store = newStore();
      const server = newServerId();
      const perHour = limits({ perHour: 2 });
      const first = granted(await store.reserve(server, perHour, BASE));
      const second = granted(await store.reserve(server, perHour, BASE + 1));
      expect(await store.reserve(server, perHour, BASE + 2)).toMatchObject({ ok: false, reason: 'hour' });

      await store.release(first, { accepted: true });
      expect(await store.reserve(server, perHour, BASE + 3)).toMatchObject({ ok: false, reason: 'hour' });

      await store.release(second, { accepted: false });
      expect((await store.usage(server, perHour, BASE + 4)).hour).toBe(1);
      granted(await store.reserve(server, perHour, BASE + 5));
      expect(await store.reserve(server, perHour, BASE + 6)).toMatchObject({ ok: false, reason: 'hour' });
    });

    it('a second release of the same reservation does nothing', async () => {
      const store = newStore();
      const server = newServerId();
      const perHour = limits({ perHour: 5 });
      const first = granted(await store.reserve(server, perHour, BASE));
      const second = granted(await store.reserve(server, perHour, BASE + 1));
      granted(await store.reserve(server, perHour, BASE + 2));

      await store.release(first, { accepted: false });
      await store.release(first, { accepted: false });
      expect((await store.usage(server, perHour, BASE + 3)).hour).toBe(2);

      // Accepted first, then a stray "not accepted" release: still no refund.
      await store.release(second, { accepted: true });
      await store.release(second, { accepted: false });
      expect((await store.usage(server, perHour, BASE + 4)).hour).toBe(2);
    });

    it('a refund goes to the windows the reservation was made in, not the current ones', async () => {
      const store = newStore();
      const server = newServerId();
      const perHour = limits({ perHour: 10 });
      const lateInHour = granted(await store.reserve(server, perHour, HOUR_END - 5));
      expect(lateInHour.hourWindow).toBe('2030-01-15T10:00+00:00');
      expect(lateInHour.dayWindow).toBe('2030-01-15');
      granted(await store.reserve(server, perHour, HOUR_END + 5));

      await store.release(lateInHour, { accepted: false });
      expect((await store.usage(server, perHour, HOUR_END - 1)).hour).toBe(0);
      const now = await store.usage(server, perHour, HOUR_END + 10);
      expect(now.hour).toBe(1);
      expect(now.day).toBe(1); // 2 taken today, 1 given back
    });

    it('never counts below zero, even when the counters were reset in between', async () => {
      const store = newStore();
      const server = newServerId();
      const reservation = granted(await store.reserve(server, NO_LIMITS, BASE));
      await store.reset(server);
      await store.release(reservation, { accepted: false });
      expect(await store.usage(server, NO_LIMITS, BASE + 1)).toMatchObject({ hour: 0, day: 0, connections: 0 });
    });
  });

  describe('day limit', () => {
    it('refuses at the cap until local midnight in the configured zone', async () => {
      // Europe/Paris in January is UTC+1: the local day ends at 23:00 UTC.
      const store = newStore({ timeZone: 'Europe/Paris' });
      const server = newServerId();
      const perDay = limits({ perDay: 2, perHour: 100 });
      const parisMidnight = Date.parse('2030-01-15T23:00:00.000Z');
      granted(await store.reserve(server, perDay, BASE));
      granted(await store.reserve(server, perDay, BASE + 3_600_000)); // another hour, same day
      expect(await store.reserve(server, perDay, BASE + 7_200_000)).toEqual({
        ok: false,
        reason: 'day',
        retryAt: parisMidnight,
      });
      expect(await store.reserve(server, perDay, parisMidnight - 1)).toMatchObject({ ok: false, reason: 'day' });
      granted(await store.reserve(server, perDay, parisMidnight));
    });

    it('when several limits refuse, reports the one that frees last', async () => {
      const store = newStore();
      const server = newServerId();
      const tight = limits({ perDay: 1, perHour: 1, perSecond: 1, maxConnections: 1 });
      granted(await store.reserve(server, tight, BASE));
      expect(await store.reserve(server, tight, BASE + 1)).toEqual({ ok: false, reason: 'day', retryAt: UTC_DAY_END });
    });
  });

  describe('connections', () => {
    it('refuses while all connection slots are leased, frees one on release', async () => {
      const store = newStore({ connectionRetryMs: 200 });
      const server = newServerId();
      const two = limits({ maxConnections: 2 });
      const first = granted(await store.reserve(server, two, BASE));
      granted(await store.reserve(server, two, BASE + 1));
      expect(await store.reserve(server, two, BASE + 2)).toEqual({
        ok: false,
        reason: 'connections',
        retryAt: BASE + 2 + 200,
      });
      expect((await store.usage(server, two, BASE + 3)).connections).toBe(2);

      await store.release(first, { accepted: true });
      granted(await store.reserve(server, two, BASE + 4));
      expect(await store.reserve(server, two, BASE + 5)).toMatchObject({ ok: false, reason: 'connections' });
    });

    it('a connection kept open holds its lease across sends, and frees it when it closes', async () => {
      const store = newStore();
      const server = newServerId();
      const one = limits({ maxConnections: 1, perHour: 3 });
      const first = granted(await store.reserve(server, one, BASE));
      await store.release(first, { accepted: true, keepLease: true });
      // Another caller finds the only connection slot taken by the open connection...
      expect(await store.reserve(server, one, BASE + 1)).toMatchObject({ ok: false, reason: 'connections' });
      // ...while its holder sends again on it, counted in the hour but taking no new slot.
      const second = granted(await store.reserve(server, one, BASE + 2, first.token));
      expect(second.token).toBe(first.token);
      await store.release(second, { accepted: false, keepLease: true });
      await store.release(second, { accepted: false, keepLease: true }); // refunds once only
      expect(await store.usage(server, one, BASE + 3)).toMatchObject({ hour: 1, connections: 1 });
      await store.releaseLease(server, first.token);
      expect((await store.usage(server, one, BASE + 4)).connections).toBe(0);
      // A lease that is gone is not honoured: the caller competes for a slot like anyone.
      const third = granted(await store.reserve(server, one, BASE + 5, first.token));
      expect(third.token).not.toBe(first.token);
    });

    it("a crashed worker's lease expires by itself", async () => {
      const store = newStore({ leaseMs: 5_000, connectionRetryMs: 60_000 });
      const server = newServerId();
      const one = limits({ maxConnections: 1 });
      granted(await store.reserve(server, one, BASE)); // never released: the worker "crashed"
      // The lease expires before the suggested retry delay, so retryAt is the lease expiry.
      expect(await store.reserve(server, one, BASE + 1_000)).toEqual({
        ok: false,
        reason: 'connections',
        retryAt: BASE + 5_000,
      });
      expect(await store.reserve(server, one, BASE + 4_999)).toMatchObject({ ok: false, reason: 'connections' });
      expect((await store.usage(server, one, BASE + 5_000)).connections).toBe(0);
      granted(await store.reserve(server, one, BASE + 5_000));
    });

    it('a renewed lease and reservation outlive the lease length; a lapsed lease is reported lost', async () => {
      const store = newStore({ leaseMs: 5_000, connectionRetryMs: 60_000 });
      const server = newServerId();
      const one = limits({ maxConnections: 1, perHour: 10 });
      const held = granted(await store.reserve(server, one, BASE));
      // A live process renews every few seconds: the slot stays its own long past the lease length.
      for (let at = BASE + 4_000; at <= BASE + 20_000; at += 4_000) {
        expect(await store.renewLeases(server, [held.token], [held.id], at)).toEqual([]);
      }
      expect(await store.reserve(server, one, BASE + 24_000)).toMatchObject({ ok: false, reason: 'connections' });
      // The reservation was renewed too: a refused send still refunds its hour slot.
      await store.release(held, { accepted: false });
      expect((await store.usage(server, one, BASE + 24_001)).hour).toBe(0);

      // A process that stops renewing (killed) loses the slot a lease length after its last renewal.
      const other = granted(await store.reserve(server, one, BASE + 30_000));
      expect(await store.reserve(server, one, BASE + 34_999)).toMatchObject({ ok: false, reason: 'connections' });
      const next = granted(await store.reserve(server, one, BASE + 35_000));
      // The dead lease cannot be renewed back into existence: its holder learns it was lost.
      expect(await store.renewLeases(server, [other.token], [other.id], BASE + 35_001)).toEqual([other.token]);
      expect(await store.renewLeases(server, [next.token], [next.id], BASE + 35_001)).toEqual([]);
    });

    it('an expired lease gets no refund (the crashed send may have gone out)', async () => {
      const store = newStore({ leaseMs: 5_000 });
      const server = newServerId();
      const reservation = granted(await store.reserve(server, NO_LIMITS, BASE));
      granted(await store.reserve(server, NO_LIMITS, BASE + 6_000)); // prunes the expired lease
      await store.release(reservation, { accepted: false });
      expect((await store.usage(server, NO_LIMITS, BASE + 7_000)).hour).toBe(2);
    });
  });

  describe('per-second pacing', () => {
    /** Calls reserve every `stepMs` over [from, to) and returns the offsets (from `from`) of the grants. */
    const grantsWhilePolling = async (
      store: ReturnType<typeof newStore>,
      server: string,
      quota: QuotaLimits,
      from: number,
      to: number,
      stepMs = 1
    ) => {
      const offsets: number[] = [];
      for (let now = from; now < to; now += stepMs) {
        const result = await store.reserve(server, quota, now);
        if (result.ok) {
          offsets.push(now - from);
          await store.release(result.reservation, { accepted: true });
        }
      }
      return offsets;
    };

    it('10/s gives exactly 10 evenly spaced slots in a second, and no burst after an idle minute', async () => {
      const store = newStore();
      const server = newServerId();
      const tenPerSecond = limits({ perSecond: 10 });
      expect(await grantsWhilePolling(store, server, tenPerSecond, BASE, BASE + 1_000)).toEqual([
        0, 100, 200, 300, 400, 500, 600, 700, 800, 900,
      ]);

      // Idle for a minute, then poll hard: still one slot per 100 ms, nothing saved up.
      const later = BASE + 61_000;
      expect(await grantsWhilePolling(store, server, tenPerSecond, later, later + 300)).toEqual([0, 100, 200]);
    });

    it('a refusal says when the next slot opens; fractional rates are paced too', async () => {
      const store = newStore();
      const server = newServerId();
      const halfPerSecond = limits({ perSecond: 0.5 });
      granted(await store.reserve(server, halfPerSecond, BASE));
      expect(await store.reserve(server, halfPerSecond, BASE + 1)).toEqual({
        ok: false,
        reason: 'second',
        retryAt: BASE + 2_000,
      });
      expect(await store.reserve(server, halfPerSecond, BASE + 1_999)).toMatchObject({ ok: false });
      granted(await store.reserve(server, halfPerSecond, BASE + 2_000));
      expect((await store.usage(server, halfPerSecond, BASE + 2_500)).nextSlotAt).toBe(BASE + 4_000);
    });

    it('0 per second pauses the server', async () => {
      const store = newStore();
      expect(await store.reserve(newServerId(), limits({ perSecond: 0 }), BASE)).toMatchObject({
        ok: false,
        reason: 'second',
      });
    });
  });

  describe('usage, keys and reset', () => {
    it('reports counts and window ends', async () => {
      const store = newStore();
      const server = newServerId();
      const quota = limits({ perSecond: 1 });
      granted(await store.reserve(server, quota, BASE));
      expect(await store.usage(server, quota, BASE + 10)).toEqual({
        hour: 1,
        day: 1,
        connections: 1,
        nextSlotAt: BASE + 1_000,
        hourResetsAt: HOUR_END,
        dayResetsAt: UTC_DAY_END,
      });
    });

    it("keeps every key of a server in one cluster slot, with a TTL, and reset removes them all", async () => {
      const store = newStore();
      const server = newServerId();
      const quota = limits({ perSecond: 5, perHour: 10, perDay: 100, maxConnections: 2 });
      granted(await store.reserve(server, quota, BASE));
      granted(await store.reserve(server, quota, HOUR_END + 1)); // a second hour window
      const serverKeys = async () => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:quota:{srv:${server}}*`, 'COUNT', 500);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
        return found.sort();
      };

      const keys = await serverKeys();
      const base = `${prefix}:quota:{srv:${server}}`;
      expect(keys).toEqual(
        [
          `${base}:day:2030-01-15`,
          `${base}:hour:2030-01-15T10:00+00:00`,
          `${base}:hour:2030-01-15T11:00+00:00`,
          `${base}:leases`,
          `${base}:open`,
          `${base}:pace`,
          `${base}:windows`,
        ].sort()
      );
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);

      await store.reset(server);
      expect(await serverKeys()).toEqual([]);
      expect(await store.usage(server, quota, HOUR_END + 2)).toMatchObject({ hour: 0, day: 0, connections: 0 });
    });

    it('rejects invalid limits and time zones', async () => {
      const store = newStore();
      await expect(store.reserve(newServerId(), limits({ perHour: -1 }), BASE)).rejects.toThrow(/perHour/);
      await expect(store.reserve(newServerId(), limits({ perSecond: Number.NaN }), BASE)).rejects.toThrow(/perSecond/);
      expect(() => newStore({ timeZone: 'Nowhere/Special' })).toThrow(/unknown time zone/);
    });
  });

  describe('across processes', () => {
    const WORKER = path.join(__dirname, 'fixtures', 'quota-worker.js');
    const PROCESSES = 4;

    interface WorkerResult {
      granted: number;
      accepted: number;
      refunded: number;
      peakInFlight: number;
      refusals: Record<string, number>;
    }

    it('4 processes hammering one server get exactly the hourly cap, never more than maxConnections at once', async () => {
      const server = newServerId();
      const quota = limits({ perHour: 500, maxConnections: 3 });
      const config = {
        redisUrl: TEST_REDIS_URL,
        keyPrefix: prefix,
        timeZone: 'UTC',
        serverId: server,
        limits: quota,
        baseNow: BASE,
        loops: 4, // concurrent reserve loops per process: 16 contenders for 3 connections
        refuseShare: 0.1, // 1 send in 10 "refused by the SMTP server", so its slot is given back
        inFlightKey: `${prefix}:test:in-flight`,
      };

      const children: ChildProcess[] = [];
      const messages = (child: ChildProcess, type: string) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const onMessage = (message: Record<string, unknown>) => {
            if (message.type === type) {
              child.off('message', onMessage);
              resolve(message);
            }
          };
          child.on('message', onMessage);
          child.once('exit', (code) => reject(new Error(`worker exited with code ${code} before "${type}"`)));
        });
      // Bounded: if anything hangs, kill the children and fail instead of waiting for Jest's timeout.
      const deadline = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 20_000);

      try {
        for (let i = 0; i < PROCESSES; i++) {
          children.push(
            fork(WORKER, [JSON.stringify(config)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
          );
        }
        await Promise.all(children.map((child) => messages(child, 'ready')));
        const results = children.map((child) => messages(child, 'result'));
        children.forEach((child) => child.send('go'));
        const totals = (await Promise.all(results)) as unknown as WorkerResult[];

        const sum = (field: 'granted' | 'accepted' | 'refunded') =>
          totals.reduce((total, result) => total + result[field], 0);
        // Exactly the cap was used: no overshoot, and every refunded slot was taken again.
        expect(sum('accepted')).toBe(500);
        expect(sum('granted')).toBe(500 + sum('refunded'));
        expect(sum('refunded')).toBeGreaterThan(0);
        const usage = await createQuotaStore(redis, { keyPrefix: prefix, timeZone: 'UTC' }).usage(server, quota, BASE);
        expect(usage).toMatchObject({ hour: 500, day: 500, connections: 0 });
        // Never more than 3 in flight, and the contention was real (more than one at once).
        const peak = Math.max(...totals.map((result) => result.peakInFlight));
        expect(peak).toBeLessThanOrEqual(3);
        expect(peak).toBeGreaterThan(1);
        // Every process got a share and saw the connection limit refuse.
        for (const result of totals) {
          expect(result.granted).toBeGreaterThan(0);
          expect(result.refusals.connections ?? 0).toBeGreaterThan(0);
        }
      } finally {
        clearTimeout(deadline);
        children.forEach((child) => {
          if (child.exitCode === null) child.kill('SIGKILL');
        });
      }
    }, 30_000);
  });
});
