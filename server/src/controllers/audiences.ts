import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import type { Context } from './crud';

/** The audience picker: its live count, and the collection types it can draw from. */
const audiences = ({ strapi }: { strapi: Core.Strapi }) => ({
  /** POST /audiences/count { audience }: a 400 naming `audience.<field>` when the audience is wrong. */
  async count(ctx: Context) {
    const body = (ctx.request.body ?? {}) as { audience?: unknown };
    ctx.body = { data: await getService(strapi, 'audiences').count(body.audience) };
  },
  async sources(ctx: Context) {
    ctx.body = { data: getService(strapi, 'audiences').sources() };
  },
});

export default audiences;
