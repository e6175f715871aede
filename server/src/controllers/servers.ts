import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';

type Context = Parameters<Core.MiddlewareHandler>[0];

/** Thin HTTP layer: read the request, call the service, set the body. */
const servers = ({ strapi }: { strapi: Core.Strapi }) => ({
  async find(ctx: Context) {
    ctx.body = await getService(strapi, 'servers').list(ctx.query);
  },
  async findOne(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'servers').get(ctx.params.id) };
  },
  async create(ctx: Context) {
    ctx.status = 201;
    ctx.body = { data: await getService(strapi, 'servers').create(ctx.request.body) };
  },
  async update(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'servers').update(ctx.params.id, ctx.request.body) };
  },
  async delete(ctx: Context) {
    await getService(strapi, 'servers').delete(ctx.params.id);
    ctx.status = 204;
  },
});

export default servers;
