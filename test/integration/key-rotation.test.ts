import type Redis from 'ioredis';

import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { deleteKeys, redisTestPrefix, testRedis } from '../helpers/redis';
import { runRotateKeyCommand } from '../helpers/strapi-process';
import { asAdmin, startStrapi, type TestStrapi } from '../helpers/strapi';

const KEY_A = Buffer.alloc(32, 0xa1).toString('base64');
const KEY_B = Buffer.alloc(32, 0xb2).toString('hex');
const SECRET = 'smtp-Passw0rd-to-keep';

type ServersService = { endpoint(id: string): Promise<{ endpoint: { password: string | null } }> };
type UnsubscribeService = { linkFor(payload: { subscriberId: string; campaignId: string | null; email: string }): string };

/**
 * Rotating the encryption key: a new key with the old one in previousEncryptionKeys keeps every
 * stored secret readable and every link already sent valid; multi-smtp-rotate-key re-encrypts the
 * secrets under the new key, after which the old key can go.
 */
describe('encryption key rotation', () => {
  let database: TestDatabase;
  let redisPrefix: string;
  let redis: Redis;
  let app: TestStrapi | null = null;

  const boot = async (encryptionKey: string, previousEncryptionKeys: string[] = []) => {
    app = await startStrapi({
      reuse: { database, redisPrefix },
      pluginConfig: { encryptionKey, previousEncryptionKeys, worker: { enabled: false }, publicUrl: 'https://news.example' },
    });
    return app;
  };
  const shutdown = async () => {
    await app?.stop();
    app = null;
  };
  const storedPassword = async (current: TestStrapi, id: string) =>
    (await current.strapi.db.query('plugin::multi-smtp.server').findOne({ where: { documentId: id } })).passwordEncrypted as string;

  beforeAll(async () => {
    database = await createTestDatabase();
    redisPrefix = redisTestPrefix();
    redis = testRedis();
  });
  afterAll(async () => {
    await shutdown();
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
    await database.drop();
  });

  it('keeps secrets and sent links working through a rotation, and re-encrypts with the command', async () => {
    // Before: everything under key A.
    let current = await boot(KEY_A);
    const server = (
      await asAdmin(current).post('/multi-smtp/servers', { name: 'rotating', host: 'smtp.example.com', port: 587, username: 'u', password: SECRET })
    ).body.data.documentId as string;
    const subscriber = (await asAdmin(current).post('/multi-smtp/subscribers', { email: 'reader@example.com' })).body.data.documentId as string;
    const oldLink = new URL((current.strapi.plugin('multi-smtp').service('unsubscribe') as UnsubscribeService).linkFor({ subscriberId: subscriber, campaignId: null, email: 'reader@example.com' }));
    const underA = await storedPassword(current, server);
    await shutdown();

    // Key B is current, A is kept: the password still decrypts, the link already sent still works.
    current = await boot(KEY_B, [KEY_A]);
    expect((await (current.strapi.plugin('multi-smtp').service('servers') as ServersService).endpoint(server)).endpoint.password).toBe(SECRET);
    expect((await current.http().get(oldLink.pathname)).status).toBe(200);
    expect(await storedPassword(current, server)).toBe(underA);
    await shutdown();

    // The command re-encrypts under B (and says so without showing any secret); a second run has nothing to do.
    const settings = { database, redisPrefix, pluginConfig: { encryptionKey: KEY_B, previousEncryptionKeys: [KEY_A], worker: { enabled: false } } };
    const first = await runRotateKeyCommand(settings);
    expect({ code: first.code, output: first.output }).toEqual({ code: 0, output: expect.stringContaining('{"checked":1,"reencrypted":1}') });
    expect(first.output).not.toContain(SECRET);
    const second = await runRotateKeyCommand(settings);
    expect(second.output).toContain('{"checked":1,"reencrypted":0}');

    // Without A: the password decrypts under B alone; links signed with A are no longer valid.
    current = await boot(KEY_B);
    const underB = await storedPassword(current, server);
    expect(underB).not.toBe(underA);
    expect(underB.split(':')[1]).not.toBe(underA.split(':')[1]);
    expect((await (current.strapi.plugin('multi-smtp').service('servers') as ServersService).endpoint(server)).endpoint.password).toBe(SECRET);
    expect((await current.http().get(oldLink.pathname)).status).toBe(400);
  }, 120_000);
});
