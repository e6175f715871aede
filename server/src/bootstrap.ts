import type { Core } from '@strapi/strapi';

import { getService } from './utils/get-service';

const bootstrap = async ({ strapi }: { strapi: Core.Strapi }) => {
  // Fail the boot now, not at the first send, when the key is missing or wrong.
  getService(strapi, 'runtime').secrets();
  await getService(strapi, 'groups').ensureDefaultGroup();
};

export default bootstrap;
