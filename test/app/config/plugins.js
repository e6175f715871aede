/**
 * Loads the plugin from this repo. MULTI_SMTP_PLUGIN_PATH picks the entry: test/plugin-entry (the
 * TypeScript sources, through Jest's transformer) or the repo root (the built dist/, as published).
 * MULTI_SMTP_TEST_CONFIG carries per-test plugin config as JSON.
 */
const path = require('node:path');

module.exports = () => ({
  'multi-smtp': {
    enabled: true,
    resolve: process.env.MULTI_SMTP_PLUGIN_PATH || path.resolve(__dirname, '..', '..', 'plugin-entry'),
    config: JSON.parse(process.env.MULTI_SMTP_TEST_CONFIG || '{}'),
  },
});
