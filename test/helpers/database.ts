import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The database the integration tests boot Strapi on, chosen with MULTI_SMTP_TEST_DB:
 * `sqlite` (default: a file in a temp folder), `postgres` or `mysql` (MariaDB or MySQL). Each test
 * gets a database of its own (parallel Jest workers never share one), dropped when it is done.
 *
 * Postgres: MULTI_SMTP_TEST_PG_HOST/PORT/USER (default 127.0.0.1:5432, postgres, trust auth).
 * MySQL: MULTI_SMTP_TEST_MYSQL_HOST/PORT/USER/PASSWORD (default 127.0.0.1:3306, root, empty).
 */
export type TestDatabaseClient = 'sqlite' | 'postgres' | 'mysql';

const parseClient = (value: string | undefined): TestDatabaseClient => {
  const client = (value ?? 'sqlite').trim().toLowerCase();
  if (client === 'sqlite' || client === 'postgres' || client === 'mysql') return client;
  throw new Error(`MULTI_SMTP_TEST_DB must be sqlite, postgres or mysql, not "${value}"`);
};

export const TEST_DB_CLIENT: TestDatabaseClient = parseClient(process.env.MULTI_SMTP_TEST_DB);

const pg = {
  host: process.env.MULTI_SMTP_TEST_PG_HOST ?? '127.0.0.1',
  port: Number(process.env.MULTI_SMTP_TEST_PG_PORT ?? 5432),
  user: process.env.MULTI_SMTP_TEST_PG_USER ?? 'postgres',
  password: process.env.MULTI_SMTP_TEST_PG_PASSWORD ?? '',
};
const mysql = {
  host: process.env.MULTI_SMTP_TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MULTI_SMTP_TEST_MYSQL_PORT ?? 3306),
  user: process.env.MULTI_SMTP_TEST_MYSQL_USER ?? 'root',
  password: process.env.MULTI_SMTP_TEST_MYSQL_PASSWORD ?? '',
};

export interface TestDatabase {
  client: TestDatabaseClient;
  /** The database's name (postgres, mysql) or the SQLite file's path. */
  name: string;
  /** The environment test/app/config/database.js reads to connect Strapi to this database. */
  env: Record<string, string>;
  /** Drops the database (or removes the SQLite folder). */
  drop(): Promise<void>;
}

/** Runs one statement on the server's maintenance connection (no database of ours selected). */
const runAdminStatement = async (client: 'postgres' | 'mysql', sql: string) => {
  if (client === 'postgres') {
    const { Client } = await import('pg');
    const connection = new Client({ ...pg, database: 'postgres' });
    await connection.connect();
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
    return;
  }
  const mysql2 = await import('mysql2/promise');
  const connection = await mysql2.createConnection(mysql);
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
};

/** A new, empty database for one Strapi (or several Strapi processes that share it). */
export const createTestDatabase = async (client: TestDatabaseClient = TEST_DB_CLIENT): Promise<TestDatabase> => {
  if (client === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-smtp-strapi-'));
    const filename = path.join(dir, 'data.db');
    return {
      client,
      name: filename,
      env: { DATABASE_CLIENT: 'sqlite', DATABASE_FILENAME: filename },
      async drop() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `mst_${process.pid}_${randomBytes(4).toString('hex')}`;
  const server = client === 'postgres' ? pg : mysql;
  await runAdminStatement(
    client,
    client === 'postgres' ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`
  );
  return {
    client,
    name,
    env: {
      DATABASE_CLIENT: client,
      DATABASE_HOST: server.host,
      DATABASE_PORT: String(server.port),
      DATABASE_NAME: name,
      DATABASE_USERNAME: server.user,
      DATABASE_PASSWORD: server.password,
    },
    async drop() {
      // FORCE: a killed Strapi process may still hold a connection the server has not noticed closing.
      await runAdminStatement(client, client === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`);
    },
  };
};

/** Points this process's Strapi (test/app/config/database.js) at the database. */
export const useTestDatabase = (database: TestDatabase) => {
  for (const key of ['DATABASE_CLIENT', 'DATABASE_FILENAME', 'DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USERNAME', 'DATABASE_PASSWORD']) {
    delete process.env[key];
  }
  Object.assign(process.env, database.env);
};
