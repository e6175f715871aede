import config from '../../server/src/config';
import { parsePluginConfig } from '../../server/src/config/schema';

const encryptionKey = Buffer.alloc(32, 3).toString('base64');

describe('plugin config validator', () => {
  it('fills defaults for a minimal config', () => {
    const parsed = parsePluginConfig({ encryptionKey });
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
});
