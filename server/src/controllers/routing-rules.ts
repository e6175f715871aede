import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import { crudController, type Context } from './crud';

/** Admin API for routing rules (shared/contracts/routing-rules.ts); the service validates everything. */
const routingRules = ({ strapi }: { strapi: Core.Strapi }) => {
  const crud = crudController('routingRules')({ strapi });
  const service = () => getService(strapi, 'routingRules');
  return {
    ...crud,
    /** Every rule's documentId in the new order. */
    async reorder(ctx: Context) {
      ctx.body = await service().reorder(ctx.request.body);
    },
    /** "Where would this message go?" */
    async test(ctx: Context) {
      ctx.body = { data: await service().test(ctx.request.body) };
    },
  };
};

export default routingRules;
