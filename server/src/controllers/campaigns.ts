import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import { crudController, type Context } from './crud';

/** Admin API for campaigns (see routes/admin-campaigns.ts): CRUD, lifecycle, progress, preview, test send. */
const campaigns = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'campaigns');
  return {
    ...crudController('campaigns')({ strapi }),

    async start(ctx: Context) {
      ctx.body = { data: await service().start(ctx.params.id) };
    },
    async schedule(ctx: Context) {
      ctx.body = { data: await service().schedule(ctx.params.id, ctx.request.body) };
    },
    async unschedule(ctx: Context) {
      ctx.body = { data: await service().unschedule(ctx.params.id) };
    },
    async pause(ctx: Context) {
      ctx.body = { data: await service().pause(ctx.params.id) };
    },
    async resume(ctx: Context) {
      ctx.body = { data: await service().resume(ctx.params.id) };
    },
    async cancel(ctx: Context) {
      ctx.body = { data: await service().cancel(ctx.params.id) };
    },
    async progress(ctx: Context) {
      ctx.body = { data: await service().progress(ctx.params.id) };
    },
    async preview(ctx: Context) {
      ctx.body = { data: await service().preview(ctx.params.id, ctx.request.body) };
    },
    async testSend(ctx: Context) {
      ctx.body = { data: await service().testSend(ctx.params.id, ctx.request.body) };
    },
    async validateTemplate(ctx: Context) {
      ctx.body = { data: service().validateTemplate(ctx.request.body) };
    },
  };
};

export default campaigns;
