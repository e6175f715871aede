import path from 'node:path';

import { createStrapi, type Core } from '@strapi/strapi';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';

import { createTestDatabase, useTestDatabase, type TestDatabase } from './database';
import { redisTestPrefix, TEST_REDIS_URL } from './redis';

const APP_DIR = path.resolve(__dirname, '..', 'app');
export const SOURCE_PLUGIN_PATH = path.resolve(__dirname, '..', 'plugin-entry');
export const BUILT_PLUGIN_PATH = path.resolve(__dirname, '..', '..');

/** A fixed, valid test key (32 bytes, base64). Never used outside tests. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestStrapi {
  strapi: Core.Strapi;
  /** supertest bound to the running HTTP server. */
  http(): TestAgent;
  /** The first (super) admin's JWT. */
  superAdminToken: string;
  /** The per-run Redis key prefix this instance uses. */
  redisPrefix: string;
  /** Creates an admin whose role has exactly these plugin actions (e.g. ['servers.read']); returns its JWT. */
  createAdmin(actions: string[], name?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Plugin config merged over the test defaults. */
  pluginConfig?: Record<string, unknown>;
  /** Load the built package (repo root dist/) instead of the TypeScript sources. */
  useBuild?: boolean;
  /**
   * Boot on this database and Redis prefix, and keep both on stop(), so another Strapi can boot on
   * them later (a restart, or a second node; the first admin then logs in). A new database
   * (test/helpers/database.ts: SQLite, Postgres or MySQL by MULTI_SMTP_TEST_DB) and prefix
   * otherwise, dropped on stop().
   */
  reuse?: { database: TestDatabase; redisPrefix: string };
}

let adminCounter = 0;

/**
 * Boots a real Strapi 5 (on its own database: see test/helpers/database.ts) with the plugin loaded
 * from this repo, and registers the first admin. Follows the notes on booting Strapi in Jest:
 * load() + server.mount(), never start().
 */
export const startStrapi = async (options: StartOptions = {}): Promise<TestStrapi> => {
  const database = options.reuse?.database ?? (await createTestDatabase());
  const redisPrefix = options.reuse?.redisPrefix ?? redisTestPrefix();
  useTestDatabase(database);
  process.env.MULTI_SMTP_PLUGIN_PATH = options.useBuild ? BUILT_PLUGIN_PATH : SOURCE_PLUGIN_PATH;
  process.env.MULTI_SMTP_TEST_CONFIG = JSON.stringify({
    encryptionKey: TEST_ENCRYPTION_KEY,
    redis: { url: TEST_REDIS_URL, keyPrefix: redisPrefix },
    smtp: { connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000 },
    ...options.pluginConfig,
  });

  // Strapi's loader reports a plugin that fails to load from Jest's sandbox as "Unknown error";
  // loading the entry here first surfaces the real error.
  if (!options.useBuild) require(path.join(SOURCE_PLUGIN_PATH, 'strapi-server.js'));

  const strapi = createStrapi({ appDir: APP_DIR, distDir: APP_DIR, autoReload: false, serveAdminPanel: false });
  strapi.log.level = process.env.STRAPI_LOG_LEVEL ?? 'error';
  try {
    await strapi.load();
  } catch (error) {
    if (!options.reuse) await database.drop().catch(() => undefined);
    throw error;
  }
  strapi.server.mount();

  const http = () => request(strapi.server.httpServer);

  const hasAdmin = options.reuse ? (await strapi.db.query('admin::user').count()) > 0 : false;
  const register = hasAdmin
    ? await http().post('/admin/login').send({ email: 'super@example.com', password: 'Sup3rSecret!' })
    : await http()
        .post('/admin/register-admin')
        .send({ firstname: 'Super', lastname: 'Admin', email: 'super@example.com', password: 'Sup3rSecret!' });
  if (register.status !== 200 && register.status !== 201) {
    throw new Error(`registering the first admin failed: ${register.status} ${JSON.stringify(register.body)}`);
  }
  const superAdminToken: string = register.body.data.token;

  const createAdmin = async (actions: string[], name = `user${++adminCounter}`): Promise<string> => {
    const role = await strapi.service('admin::role').create({ name: `${name}-role`, description: 'test role' });
    await strapi.service('admin::role').assignPermissions(
      role.id,
      actions.map((action) => ({
        action: action.includes('::') ? action : `plugin::multi-smtp.${action}`,
        subject: null,
        properties: {},
        conditions: [],
      }))
    );
    const email = `${name}@example.com`;
    const password = 'Us3rSecret!';
    await strapi.service('admin::user').create({
      email,
      firstname: name,
      lastname: 'Test',
      password,
      registrationToken: null,
      isActive: true,
      roles: [role.id],
    });
    const login = await http().post('/admin/login').send({ email, password });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    return login.body.data.token;
  };

  return {
    strapi,
    http,
    superAdminToken,
    redisPrefix,
    createAdmin,
    async stop() {
      await strapi.destroy();
      if (!options.reuse) await database.drop();
    },
  };
};

/** supertest with the admin's bearer token. */
export const asAdmin = (test: TestStrapi, token = test.superAdminToken) => {
  const agent = test.http();
  return {
    get: (url: string) => agent.get(url).set('Authorization', `Bearer ${token}`),
    post: (url: string, body?: object) => agent.post(url).set('Authorization', `Bearer ${token}`).send(body),
    put: (url: string, body?: object) => agent.put(url).set('Authorization', `Bearer ${token}`).send(body),
    delete: (url: string) => agent.delete(url).set('Authorization', `Bearer ${token}`),
  };
};
