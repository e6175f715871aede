import type { Core } from '@strapi/strapi';
import { noParametersSchema as nothing } from '../../../shared/contracts/common';
import { getService } from '../utils/get-service';
import { parseInput } from '../utils/validation';
import type { Context } from './crud';

/** Admin API for bounce mailboxes (services/bounce-mailboxes.ts). */
const bounceMailboxes = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'bounceMailboxes');
  return {
    /** Every configured mailbox and its last poll. */
    async find(ctx: Context) {
      parseInput(nothing, ctx.query);
      ctx.body = { data: await service().status() };
    },
    /** Polls every mailbox now; answers what each poll did. */
    async poll(ctx: Context) {
      parseInput(nothing, ctx.query);
      parseInput(nothing, ctx.request.body);
      ctx.body = { data: await service().pollNow() };
    },
  };
};

export default bounceMailboxes;
