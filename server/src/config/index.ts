import { parsePluginConfig } from './schema';

export default {
  // Strapi merges the app's config/plugins `multi-smtp.config` over this, then calls the validator.
  default: () => ({
    encryptionKey: process.env.MULTI_SMTP_ENCRYPTION_KEY,
    previousEncryptionKeys: (process.env.MULTI_SMTP_PREVIOUS_ENCRYPTION_KEYS ?? '')
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean),
    // No redis default here: the env URL is the fallback of the schema (see redisSchema).
    redis: {},
  }),
  // Synchronous and throwing, as Strapi expects: a bad config stops the boot with the field named.
  validator: (config: unknown) => {
    parsePluginConfig(config);
  },
};
