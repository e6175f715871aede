const path = require('node:path');

/**
 * Loads strapi-plugin-multi-smtp from this repository, as a user would get it from npm: through its
 * package.json `exports`, i.e. the built dist/ (run `npm run build` in the repo root first; Strapi
 * skips a plugin whose dist/ is missing without a word).
 *
 * Strapi runs this file from playground/dist/config, so the repo root is found from process.cwd()
 * (the playground folder), not from __dirname. MULTI_SMTP_PLUGIN_PATH overrides it (the browser
 * test runs a copy of this app elsewhere).
 */

// 32 bytes, base64. A demo value: real sites set MULTI_SMTP_ENCRYPTION_KEY to their own secret.
const DEMO_ENCRYPTION_KEY = 'bXVsdGktc210cC1kZW1vLWtleS0zMi1ieXRlcy0hISE=';

module.exports = () => ({
  'multi-smtp': {
    enabled: true,
    resolve: process.env.MULTI_SMTP_PLUGIN_PATH || path.resolve(process.cwd(), '..'),
    config: {
      encryptionKey: process.env.MULTI_SMTP_ENCRYPTION_KEY || DEMO_ENCRYPTION_KEY,
      redis: {
        url: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
        keyPrefix: process.env.MULTI_SMTP_REDIS_PREFIX || 'multi-smtp-demo',
      },
      // Local demo servers answer at once; fail fast when one is stopped.
      smtp: { connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 10000 },
      // Optional: the token of the bounce/complaint endpoint (POST /api/multi-smtp/inbound; 404 while
      // unset) and the site's address for tracking links. The browser test sets both.
      ...(process.env.MULTI_SMTP_INBOUND_TOKEN ? { bounces: { inboundToken: process.env.MULTI_SMTP_INBOUND_TOKEN } } : {}),
      ...(process.env.MULTI_SMTP_PUBLIC_URL ? { publicUrl: process.env.MULTI_SMTP_PUBLIC_URL } : {}),
    },
  },
});
