import type { Core } from '@strapi/strapi';

import type services from '../services';
import { PLUGIN_ID } from '../../../shared/plugin-id';

type Services = typeof services;

/** The plugin's services, typed: `getService(strapi, 'servers').list(...)`. */
export const getService = <Name extends keyof Services>(strapi: Core.Strapi, name: Name): ReturnType<Services[Name]> =>
  strapi.plugin(PLUGIN_ID).service(name) as ReturnType<Services[Name]>;
