import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import type { Context } from './crud';
import { sendCsv } from './subscribers';

/** Admin API for the suppression list. */
const suppressions = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'suppressions');
  return {
    async find(ctx: Context) {
      ctx.body = await service().list(ctx.query);
    },
    async findOne(ctx: Context) {
      ctx.body = { data: await service().get(ctx.params.id) };
    },
    /** 201 when the value was added, 200 when it was already suppressed (adding is idempotent). */
    async create(ctx: Context) {
      const { suppression, created } = await service().add(ctx.request.body);
      ctx.status = created ? 201 : 200;
      ctx.body = { data: suppression, meta: { created } };
    },
    async delete(ctx: Context) {
      await service().remove(ctx.params.id);
      ctx.status = 204;
    },
    async export(ctx: Context) {
      const { filename, stream } = service().exportCsv(ctx.query);
      sendCsv(ctx, filename, stream);
    },
  };
};

export default suppressions;
