import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { getService } from '../utils/get-service';
import type { Context } from './crud';


/** Admin API for the delivery log: thin, the service parses and shapes. */
const messages = ({ strapi }: { strapi: Core.Strapi }) => ({
  async find(ctx: Context) {
    ctx.body = await getService(strapi, 'messageLog').search(ctx.query);
  },
  async findOne(ctx: Context) {
    const entry = await getService(strapi, 'messageLog').get(ctx.params.id);
    if (!entry) throw new errors.NotFoundError(`Message ${ctx.params.id} not found`);
    ctx.body = { data: entry };
  },
});

export default messages;
