import { parsePluginConfig } from './schema';

export default {
  // Strapi merges the app's config/plugins `multi-smtp.config` over this, then calls the validator.
  default: () => ({
    encryptionKey: process.env.MULTI_SMTP_ENCRYPTION_KEY,
    redis: process.env.MULTI_SMTP_REDIS_URL || process.env.REDIS_URL ? { url: process.env.MULTI_SMTP_REDIS_URL || process.env.REDIS_URL } : {},
  }),
  // Synchronous and throwing, as Strapi expects: a bad config stops the boot with the field named.
  validator: (config: unknown) => {
    parsePluginConfig(config);
  },
};
