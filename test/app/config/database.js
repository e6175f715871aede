const path = require('node:path');

/**
 * The test app's database, from the environment test/helpers/database.ts sets: SQLite (a file per
 * test), PostgreSQL or MySQL/MariaDB (a database per test), chosen by MULTI_SMTP_TEST_DB.
 */
module.exports = () => {
  const client = process.env.DATABASE_CLIENT || 'sqlite';
  if (client === 'sqlite') {
    return {
      connection: {
        client: 'sqlite',
        connection: { filename: process.env.DATABASE_FILENAME || path.join(__dirname, '..', '.tmp', 'data.db') },
        useNullAsDefault: true,
        // What a SQLite deployment that writes often should use (README, Production): write-ahead
        // logging, synced at checkpoints. SQLite's default syncs the disk twice on every commit, and
        // better-sqlite3 commits on the event loop: each write of the delivery log stalled every send
        // of the process for as long (measured: a third of the plugin's main-thread time in the bench).
        pool: {
          afterCreate: (connection, done) => {
            connection.pragma('journal_mode = WAL');
            connection.pragma('synchronous = NORMAL');
            done(null, connection);
          },
        },
      },
    };
  }
  return {
    connection: {
      client,
      connection: {
        host: process.env.DATABASE_HOST,
        port: Number(process.env.DATABASE_PORT),
        database: process.env.DATABASE_NAME,
        user: process.env.DATABASE_USERNAME,
        password: process.env.DATABASE_PASSWORD || '',
      },
      // Several Strapi processes share one database in the multi-node tests; keep each pool small.
      pool: { min: 0, max: 5 },
      log: {
        // Strapi's schema sync runs DDL in transactions; on MySQL knex warns about it at every boot.
        warn: (message) => {
          if (!String(message).includes('implicitly committed')) console.warn(message);
        },
      },
    },
  };
};
