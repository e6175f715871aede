const path = require('node:path');

// Strapi runs this app from dist/, so paths are anchored on the app folder (process.cwd()).
module.exports = () => ({
  connection: {
    client: 'sqlite',
    connection: {
      filename: process.env.DATABASE_FILENAME || path.join(process.cwd(), '.tmp', 'data.db'),
    },
    useNullAsDefault: true,
    // Write-ahead logging: see README, Production > Database.
    pool: {
      afterCreate: (db, done) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        done(null, db);
      },
    },
  },
});
