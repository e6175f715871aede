import config from '../../server/src/config';
import { applyProcessRole, runsCampaignFanOut } from '../../server/src/config/role';
import { parsePluginConfig } from '../../server/src/config/schema';
import { defaultSmtpThreads } from '../../server/src/engine/smtp-threads';
import { bullPrefixOf, pluginKeyPrefixOf, redisOptionsOf, redisTopologyOf } from '../../server/src/services/redis-connection';

const encryptionKey = Buffer.alloc(32, 3).toString('base64');

/** Runs `body` with the Redis URL env variables unset (the schema falls back to them). */
const withoutRedisEnv = <T>(body: () => T): T => {
  const saved = { MULTI_SMTP_REDIS_URL: process.env.MULTI_SMTP_REDIS_URL, REDIS_URL: process.env.REDIS_URL };
  delete process.env.MULTI_SMTP_REDIS_URL;
  delete process.env.REDIS_URL;
  try {
    return body();
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
};

describe('plugin config validator', () => {
  it('fills defaults for a minimal config', () => {
    const parsed = withoutRedisEnv(() => parsePluginConfig({ encryptionKey }));
    expect(parsed.redis).toMatchObject({ host: '127.0.0.1', port: 6379, keyPrefix: 'multi-smtp' });
    expect(parsed.worker).toEqual({ enabled: true, concurrency: 10, lockDurationMs: 30000 });
    expect(parsed.retry).toEqual({ attempts: 8, backoffMs: 30000 });
    expect(parsed.timeZone).toBe('UTC');
  });

  it('throws synchronously, naming the bad field', () => {
    expect(() => config.validator({ encryptionKey, worker: { concurrency: 0 } })).toThrow(/worker\.concurrency/);
    expect(() => config.validator({ encryptionKey, redis: { url: 'http://x' } })).toThrow(/redis\.url: must start with redis:\/\//);
    expect(() => config.validator({ encryptionKey, timeZone: 'Mars/Olympus' })).toThrow(/timeZone/);
    expect(() => config.validator({ encryptionKey, publicUrl: 'not a url' })).toThrow(/publicUrl/);
    expect(() => config.validator({ encryptionKey, workers: {} })).toThrow(/workers/);
  });

  it('refuses to start without an encryption key and says how to make one', () => {
    expect(() => config.validator({})).toThrow(/encryptionKey: .*randomBytes\(32\)/);
  });

  describe('smtp.threads', () => {
    it('defaults to 1 on two cores or fewer, else one per core but one, at most 4', () => {
      expect(parsePluginConfig({ encryptionKey }).smtp.threads).toBe(defaultSmtpThreads());
      expect([1, 2, 3, 4, 5, 8, 64].map((cores) => defaultSmtpThreads(cores))).toEqual([1, 1, 2, 3, 4, 4, 4]);
    });

    it('takes 0 (send on the main thread) or a whole number of threads, and throws naming the field otherwise', () => {
      expect(parsePluginConfig({ encryptionKey, smtp: { threads: 0 } }).smtp.threads).toBe(0);
      expect(parsePluginConfig({ encryptionKey, smtp: { threads: 3 } }).smtp.threads).toBe(3);
      expect(() => config.validator({ encryptionKey, smtp: { threads: -1 } })).toThrow(/smtp\.threads/);
      expect(() => config.validator({ encryptionKey, smtp: { threads: 1.5 } })).toThrow(/smtp\.threads/);
      expect(() => config.validator({ encryptionKey, smtp: { threads: '2' } })).toThrow(/smtp\.threads/);
    });
  });

  describe('campaigns.fanOut', () => {
    const withFanOut = (fanOut: unknown, worker: Record<string, unknown> = {}) => parsePluginConfig({ encryptionKey, worker, campaigns: { fanOut } });

    it('is unset by default: the fan-out runs where the queue worker runs', () => {
      const parsed = parsePluginConfig({ encryptionKey });
      expect(parsed.campaigns.fanOut).toBeUndefined();
      expect(runsCampaignFanOut(parsed)).toBe(true);
      expect(runsCampaignFanOut(parsePluginConfig({ encryptionKey, worker: { enabled: false } }))).toBe(false);
    });

    it('true runs it on a node whose queue worker is off; false never, not even in the worker command', () => {
      expect(runsCampaignFanOut(withFanOut(true, { enabled: false }))).toBe(true);
      expect(runsCampaignFanOut(withFanOut(false, { enabled: true }))).toBe(false);
      expect(runsCampaignFanOut(applyProcessRole(withFanOut(false, { enabled: false }), 'worker'))).toBe(false);
      expect(runsCampaignFanOut(applyProcessRole(parsePluginConfig({ encryptionKey, worker: { enabled: false } }), 'worker'))).toBe(true);
    });

    it('a one-off command never fans out, whatever the config says', () => {
      const task = applyProcessRole(withFanOut(true, { enabled: true }), 'task');
      expect(task.worker.enabled).toBe(false);
      expect(runsCampaignFanOut(task)).toBe(false);
    });

    it('takes only a boolean', () => {
      expect(() => config.validator({ encryptionKey, campaigns: { fanOut: 'yes' } })).toThrow(/campaigns\.fanOut/);
      expect(() => config.validator({ encryptionKey, campaigns: { fanOut: 1 } })).toThrow(/campaigns\.fanOut/);
      expect(() => config.validator({ encryptionKey, campaigns: { fanOut: true } })).not.toThrow();
    });
  });

  describe('redis topologies', () => {
    const redis = (section: Record<string, unknown>) => parsePluginConfig({ encryptionKey, redis: section }).redis;
    const sentinels = [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26379 },
    ];
    const nodes = [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ];

    it('takes a single Redis by url or by host, with the port defaulting to 6379', () => {
      expect(redis({ url: 'redis://r:6380/2' })).toMatchObject({ url: 'redis://r:6380/2', waitForReplicas: 0 });
      expect(redis({ host: 'r' })).toMatchObject({ host: 'r', port: 6379, db: 0 });
      expect(redisTopologyOf(redis({ host: 'r' }))).toBe('single');
    });

    it('falls back to REDIS_URL (or MULTI_SMTP_REDIS_URL) only when the section says nothing about where Redis is', () => {
      const saved = process.env.MULTI_SMTP_REDIS_URL;
      process.env.MULTI_SMTP_REDIS_URL = 'redis://from-env:6379';
      try {
        expect(redis({})).toMatchObject({ url: 'redis://from-env:6379' });
        expect(redis({ keyPrefix: 'site' }).url).toBe('redis://from-env:6379');
        // A site's own sentinels are not mixed with the env URL.
        const sentinel = redis({ sentinels, name: 'mymaster' });
        expect(sentinel.url).toBeUndefined();
        expect(redisTopologyOf(sentinel)).toBe('sentinel');
      } finally {
        if (saved === undefined) delete process.env.MULTI_SMTP_REDIS_URL;
        else process.env.MULTI_SMTP_REDIS_URL = saved;
      }
      expect(withoutRedisEnv(() => redis({}))).toMatchObject({ host: '127.0.0.1', port: 6379 });
    });

    it('takes Sentinel: sentinels, the master name, an optional sentinel password; waits for one replica by default', () => {
      const parsed = redis({ sentinels, name: 'mymaster', sentinelPassword: 'sentinel-secret', password: 'data-secret' });
      expect(parsed).toMatchObject({ sentinels, name: 'mymaster', sentinelPassword: 'sentinel-secret', waitForReplicas: 1, waitTimeoutMs: 1000 });
      expect(parsed.host).toBeUndefined();
      expect(redis({ sentinels, name: 'mymaster', waitForReplicas: 0 }).waitForReplicas).toBe(0);
      const { url, options } = redisOptionsOf(parsed);
      expect(url).toBeUndefined();
      expect(options).toMatchObject({ sentinels, name: 'mymaster', sentinelPassword: 'sentinel-secret', password: 'data-secret', failoverDetector: true });
      // A command refused by a demoted master is resent to the new one.
      expect(options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
      expect(options.reconnectOnError?.(new Error('ERR wrong number of arguments'))).toBe(false);
    });

    it('takes Cluster: nodes; the plugin keys share one hash tag there, and only there', () => {
      const parsed = redis({ nodes, keyPrefix: 'site' });
      expect(redisTopologyOf(parsed)).toBe('cluster');
      expect(pluginKeyPrefixOf(parsed)).toBe('{site}');
      expect(bullPrefixOf(parsed)).toBe('{site}');
      // Existing single-Redis and Sentinel deployments keep their key names.
      expect(pluginKeyPrefixOf(redis({ host: 'r', keyPrefix: 'site' }))).toBe('site');
      expect(pluginKeyPrefixOf(redis({ sentinels, name: 'm', keyPrefix: 'site' }))).toBe('site');
      expect(bullPrefixOf(redis({ host: 'r', keyPrefix: 'site' }))).toBe('{site}');
    });

    it('refuses more than one of url, host, sentinels and nodes, naming them', () => {
      expect(() => redis({ url: 'redis://r', host: 'r' })).toThrow(/redis\.host: give only one of url, host, sentinels or nodes \(got url and host\)/);
      expect(() => redis({ host: 'r', sentinels, name: 'm' })).toThrow(/redis\.sentinels: give only one of .*\(got host and sentinels\)/);
      expect(() => redis({ sentinels, name: 'm', nodes })).toThrow(/redis\.nodes: give only one of .*\(got sentinels and nodes\)/);
      expect(() => redis({ url: 'redis://r', nodes })).toThrow(/\(got url and nodes\)/);
      expect(() => redis({ port: 6380, nodes })).toThrow(/redis\.port: goes with host/);
    });

    it('requires the master name with sentinels, and refuses sentinel fields without them', () => {
      expect(() => redis({ sentinels })).toThrow(/redis\.name: is required with sentinels/);
      expect(() => redis({ host: 'r', name: 'mymaster' })).toThrow(/redis\.name: goes with sentinels/);
      expect(() => redis({ nodes, sentinelPassword: 'x' })).toThrow(/redis\.sentinelPassword: goes with sentinels/);
      expect(() => redis({ sentinels: [], name: 'm' })).toThrow(/redis\.sentinels: must list at least one sentinel/);
      expect(() => redis({ sentinels: [{ host: 'a' }], name: 'm' })).toThrow(/redis\.sentinels\.0\.port/);
      expect(() => redis({ sentinels: [{ host: 'a', port: 70000 }], name: 'm' })).toThrow(/redis\.sentinels\.0\.port/);
    });

    it('refuses what Redis Cluster cannot do: another database, WAIT for replicas; and empty or malformed nodes', () => {
      expect(() => redis({ nodes, db: 3 })).toThrow(/redis\.db: must be 0 with nodes/);
      expect(() => redis({ nodes, waitForReplicas: 1 })).toThrow(/redis\.waitForReplicas: is not supported with nodes/);
      expect(() => redis({ nodes: [] })).toThrow(/redis\.nodes: must list at least one cluster node/);
      expect(() => redis({ nodes: [{ host: '', port: 7000 }] })).toThrow(/redis\.nodes\.0\.host/);
      expect(() => redis({ nodes: [{ host: 'a', port: 7000, weight: 1 }] })).toThrow(/redis\.nodes\.0/);
    });

    it('throws from the synchronous validator Strapi calls', () => {
      expect(() => config.validator({ encryptionKey, redis: { sentinels } })).toThrow(/multi-smtp: invalid plugin config: redis\.name/);
    });
  });

  describe('bounces.imap', () => {
    const imap = (value: unknown) => parsePluginConfig({ encryptionKey, bounces: { imap: value } }).bounces.imap;
    const auth = { user: 'bounces@example.com', pass: 'secret' };

    it('has no global mailbox by default; polls every 60 s with 30 s timeouts', () => {
      expect(parsePluginConfig({ encryptionKey }).bounces.imap).toEqual({
        security: 'tls',
        port: 993,
        mailbox: 'INBOX',
        processed: { moveTo: 'Processed' },
        pollIntervalSec: 60,
        timeoutMs: 30000,
      });
    });

    it('takes a global mailbox: port 993 with tls, else 143; a folder to move to or a keyword to flag with', () => {
      expect(imap({ host: 'imap.example.com', auth })).toMatchObject({ host: 'imap.example.com', port: 993, auth, mailbox: 'INBOX', processed: { moveTo: 'Processed' } });
      expect(imap({ host: 'imap.example.com', security: 'starttls', auth }).port).toBe(143);
      expect(imap({ host: 'imap.example.com', port: 1143, security: 'none', auth, mailbox: 'Bounces', processed: { flag: 'Done' }, pollIntervalSec: 5 })).toMatchObject({
        port: 1143,
        mailbox: 'Bounces',
        processed: { flag: 'Done' },
        pollIntervalSec: 5,
      });
      expect(imap({ processed: { moveTo: 'Archive/Bounces' } }).processed).toEqual({ moveTo: 'Archive/Bounces' });
    });

    it('refuses what cannot work, naming the field', () => {
      expect(() => config.validator({ encryptionKey, bounces: { imap: { host: 'imap.example.com' } } })).toThrow(/bounces\.imap\.auth: is required with host/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { auth } } })).toThrow(/bounces\.imap\.auth: goes with host/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { host: 'h', auth, security: 'ssl' } } })).toThrow(/bounces\.imap\.security/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { host: 'h', auth: { user: 'u' } } } })).toThrow(/bounces\.imap\.auth\.pass/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { processed: { moveTo: 'A', flag: 'B' } } } })).toThrow(/bounces\.imap\.processed: give exactly one of moveTo or flag/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { processed: { flag: '\\Seen' } } } })).toThrow(/bounces\.imap\.processed\.flag: must be an IMAP keyword/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { pollIntervalSec: 0 } } })).toThrow(/bounces\.imap\.pollIntervalSec/);
      expect(() => config.validator({ encryptionKey, bounces: { imap: { host: 'h', auth, tls: true } } })).toThrow(/bounces\.imap/);
    });
  });
});
