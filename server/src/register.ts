import type { Core } from '@strapi/strapi';

import { ACTION_DEFINITIONS } from '../../shared/permissions';
import { PLUGIN_ID } from '../../shared/plugin-id';
import { captureRawBodies } from './services/inbound';

/** Registers the plugin's RBAC actions, once, so they appear in Settings > Roles. */
const register = async ({ strapi }: { strapi: Core.Strapi }) => {
  await strapi.service('admin::permission').actionProvider.registerMany(
    ACTION_DEFINITIONS.map(({ uid, displayName, subCategory }) => ({
      section: 'plugins',
      displayName,
      uid,
      subCategory,
      pluginName: PLUGIN_ID,
    }))
  );
  // Before the app's middlewares: the inbound and webhook endpoints need their bodies unparsed (services/inbound.ts).
  strapi.server.use(captureRawBodies(strapi));
};

export default register;
