import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import type { Context } from './crud';


/** A failed test is still a successful request (200 with ok: false): the result is the answer. */
const serverTests = ({ strapi }: { strapi: Core.Strapi }) => ({
  async testConnection(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'serverTests').testConnection(ctx.params.id) };
  },
  async sendTestEmail(ctx: Context) {
    ctx.body = { data: await getService(strapi, 'serverTests').sendTestEmail(ctx.params.id, ctx.request.body) };
  },
});

export default serverTests;
