import { Mail } from '@strapi/icons';
import type { StrapiApp } from '@strapi/strapi/admin';

import { ACTIONS, actionId } from '../../shared/permissions';
import { PLUGIN_ID } from '../../shared/plugin-id';
import { getTranslation } from './utils/getTranslation';

const PLUGIN_NAME = 'Multi SMTP';

/** Translation files hold short keys (`servers.title`); Strapi wants them with the plugin's prefix. */
const prefixKeys = (messages: Record<string, string>) =>
  Object.fromEntries(Object.entries(messages).map(([key, text]) => [getTranslation(key), text]));

export default {
  register(app: StrapiApp) {
    app.registerPlugin({ id: PLUGIN_ID, name: PLUGIN_NAME });

    app.addMenuLink({
      to: `plugins/${PLUGIN_ID}`,
      icon: Mail,
      intlLabel: { id: getTranslation('plugin.name'), defaultMessage: PLUGIN_NAME },
      Component: () => import('./pages/App'),
      // Admins who may read servers, campaigns, reports or routing rules see the menu entry (any one
      // is enough); the API checks each route's own action.
      permissions: [
        { action: actionId(ACTIONS.serversRead), subject: null },
        { action: actionId(ACTIONS.campaignsRead), subject: null },
        { action: actionId(ACTIONS.reportsRead), subject: null },
        { action: actionId(ACTIONS.routingRead), subject: null },
      ],
    });
  },

  async registerTrads({ locales }: { locales: string[] }) {
    return Promise.all(
      locales.map(async (locale) => {
        try {
          const { default: messages } = (await import(`./translations/${locale}.json`)) as {
            default: Record<string, string>;
          };
          return { data: prefixKeys(messages), locale };
        } catch {
          // No file for this locale: Strapi falls back to the English defaultMessage texts.
          return { data: {}, locale };
        }
      }),
    );
  },
};
