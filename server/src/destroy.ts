import type { Core } from '@strapi/strapi';

import { getService } from './utils/get-service';

/**
 * Closes what the plugin opened, in order: the workers finish their in-flight sends, then the
 * queue, pools and Redis connections close.
 */
const destroy = async ({ strapi }: { strapi: Core.Strapi }) => {
  // Campaign fan-outs first: each ends after its current page (cursor saved) while Redis is still open.
  await getService(strapi, 'campaignRunner').stop();
  await getService(strapi, 'bounceMailboxes').stop(); // a poll under way ends after its message, while Redis holds its lock
  await getService(strapi, 'retention').stop(); // a pruning run ends after its batch, while Redis holds its lock
  await getService(strapi, 'tracking').stop(); // opens and clicks under way: their events and statistics, while Redis is open
  await getService(strapi, 'directorySync').stop(); // its own Redis connection, before the engine's close
  await getService(strapi, 'engine').stop();
  await getService(strapi, 'messageLog').stop(); // last states the workers recorded
  await getService(strapi, 'stats').stop(); // last statistics the workers recorded
};

export default destroy;
