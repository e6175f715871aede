import bootstrap from './bootstrap';
import config from './config';
import contentTypes from './content-types';
import controllers from './controllers';
import destroy from './destroy';
import register from './register';
import { provider } from './provider';
import routes from './routes';
import services from './services';

export default {
  register,
  bootstrap,
  destroy,
  config,
  contentTypes,
  controllers,
  routes,
  services,
};

/** Strapi email provider (see provider.ts); `strapi-plugin-multi-smtp/provider` re-exports it. */
export { provider };
