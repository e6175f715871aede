import type { Core } from '@strapi/strapi';

import { noParametersSchema } from '../../../shared/contracts/common';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';
import type { Context } from './crud';

/** Admin API for response rules (shared/contracts/response-rules.ts). */
const responseRules = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'responseRules');
  return {
    /** The shipped rules (with their on/off state) and the custom ones. */
    async find(ctx: Context) {
      parseInput(noParametersSchema, ctx.query);
      ctx.body = { data: await service().list() };
    },
    async findOne(ctx: Context) {
      ctx.body = { data: await service().get(ctx.params.id) };
    },
    async create(ctx: Context) {
      ctx.status = 201;
      ctx.body = { data: await service().create(ctx.request.body) };
    },
    async update(ctx: Context) {
      ctx.body = { data: await service().update(ctx.params.id, ctx.request.body) };
    },
    async delete(ctx: Context) {
      await service().delete(ctx.params.id);
      ctx.status = 204;
    },
    /** `{ enabled }` for one shipped rule. */
    async setShipped(ctx: Context) {
      ctx.body = { data: await service().setShipped(ctx.params.ruleId, ctx.request.body) };
    },
  };
};

export default responseRules;
