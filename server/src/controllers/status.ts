import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import type { Context } from './crud';


const status = ({ strapi }: { strapi: Core.Strapi }) => ({
  async overview(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'status').overview() };
  },
  async server(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'status').server(ctx.params.id) };
  },
  async suspend(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'status').suspend(ctx.params.id, ctx.request.body) };
  },
  async resume(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'status').resume(ctx.params.id) };
  },
});

export default status;
