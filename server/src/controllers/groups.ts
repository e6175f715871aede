import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';

type Context = Parameters<Core.MiddlewareHandler>[0];

const groups = ({ strapi }: { strapi: Core.Strapi }) => ({
  async find(ctx: Context) {
    ctx.body = await getService(strapi, 'groups').list(ctx.query);
  },
  async findOne(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'groups').get(ctx.params.id) };
  },
  async create(ctx: Context) {
    ctx.status = 201;
    ctx.body = { data: await getService(strapi, 'groups').create(ctx.request.body) };
  },
  async update(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'groups').update(ctx.params.id, ctx.request.body) };
  },
  async delete(ctx: Context) {
    await getService(strapi, 'groups').delete(ctx.params.id);
    ctx.status = 204;
  },
});

export default groups;
