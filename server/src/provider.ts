import type { Core } from '@strapi/strapi';

import { PLUGIN_ID } from '../../shared/plugin-id';
import type { MailerService } from './services/mailer';

/**
 * A provider for Strapi's own email plugin, so `strapi.plugin('email').service('email').send()` and
 * the admin's emails (password reset...) are queued and routed like any other message:
 *
 *   // config/plugins.ts
 *   email: { config: { provider: 'strapi-plugin-multi-smtp/provider', providerOptions: { group: 'transactional' } } }
 */
export interface ProviderOptions {
  /** Group slug; the plugin's default group when omitted. */
  group?: string;
}

interface EmailPluginSettings {
  defaultFrom?: string;
  defaultReplyTo?: string;
}

type EmailPluginMessage = Record<string, unknown> & {
  from?: string;
  replyTo?: string;
};

export const provider = {
  init(providerOptions: ProviderOptions = {}, settings: EmailPluginSettings = {}) {
    return {
      async send(options: EmailPluginMessage) {
        // Strapi 5 exposes the running instance globally; the provider is created before it is needed.
        const strapi = (globalThis as unknown as { strapi: Core.Strapi }).strapi;
        const mailer = strapi.plugin(PLUGIN_ID).service('mailer') as MailerService;
        const { from, replyTo, ...rest } = options;
        const message = {
          ...rest,
          from: from ?? settings.defaultFrom,
          replyTo: replyTo ?? settings.defaultReplyTo,
        };
        // Strapi's email plugin passes keys it has no value for as undefined; drop them.
        for (const key of Object.keys(message)) {
          if ((message as Record<string, unknown>)[key] === undefined) delete (message as Record<string, unknown>)[key];
        }
        return mailer.send(message as never, { group: providerOptions.group, source: 'email-plugin' });
      },
    };
  },
};
