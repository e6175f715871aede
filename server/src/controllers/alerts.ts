import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import type { Context } from './crud';

/** Admin API for protection alerts (shared/contracts/alerts.ts). */
const alerts = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'alerts');
  return {
    async find(ctx: Context) {
      ctx.body = await service().list(ctx.query);
    },
    async findOne(ctx: Context) {
      ctx.body = { data: await service().get(ctx.params.id) };
    },
    /** One click: resumes the server (or restores its weight) and marks the alert lifted. */
    async lift(ctx: Context) {
      ctx.body = { data: await service().lift(ctx.params.id, ctx.request.body, ctx.state.user) };
    },
  };
};

export default alerts;
