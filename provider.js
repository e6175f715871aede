// Strapi email provider: `provider: 'strapi-plugin-multi-smtp/provider'` in the email plugin config.
module.exports = require('./dist/server/index.js').provider;
