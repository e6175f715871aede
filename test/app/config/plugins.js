/**
 * Loads the plugin from this repo. MULTI_SMTP_PLUGIN_PATH picks the entry: test/plugin-entry (the
 * TypeScript sources, through Jest's transformer) or the repo root (the built dist/, as published).
 * MULTI_SMTP_TEST_CONFIG carries per-test plugin config as JSON.
 */
const path = require('node:path');

const pluginPath = process.env.MULTI_SMTP_PLUGIN_PATH || path.resolve(__dirname, '..', '..', 'plugin-entry');

/**
 * Strapi's email plugin lower-cases the provider name and requires it from its own folder. A
 * relative path from there to the repo keeps only the repo's own (lower-case) folder names, wherever
 * the repo was cloned.
 */
const emailProvider = () => {
  const emailServerDir = path.join(path.dirname(require.resolve('@strapi/email/package.json')), 'dist', 'server');
  return path.relative(emailServerDir, path.join(pluginPath, 'provider.js')).split(path.sep).join('/');
};

module.exports = () => ({
  // Its users are an audience source in the campaign tests; a fixed secret so it writes no .env.
  'users-permissions': { config: { jwtSecret: 'test-users-permissions-jwt-secret' } },
  email: {
    config: {
      provider: emailProvider(),
      providerOptions: { group: process.env.MULTI_SMTP_EMAIL_GROUP || undefined },
      settings: { defaultFrom: 'site@example.com', defaultReplyTo: 'support@example.com' },
    },
  },
  'multi-smtp': {
    enabled: true,
    resolve: pluginPath,
    config: JSON.parse(process.env.MULTI_SMTP_TEST_CONFIG || '{}'),
  },
});
