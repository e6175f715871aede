const path = require('node:path');

module.exports = () => ({
  connection: {
    client: 'sqlite',
    connection: { filename: process.env.DATABASE_FILENAME || path.join(__dirname, '..', '.tmp', 'data.db') },
    useNullAsDefault: true,
  },
});
