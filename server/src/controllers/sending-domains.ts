import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import { crudController, type Context } from './crud';

/** Admin API for sending domains and their DKIM keys (shared/contracts/sending-domains.ts). */
const sendingDomains = ({ strapi }: { strapi: Core.Strapi }) => {
  // The CRUD handlers of every resource (crud.ts's list of names predates this one, hence the cast).
  // There is no update: a domain's key is replaced by deleting and registering it again.
  // create: `generate: true` makes a key pair, or `privateKey` imports a PEM; answers hold the public key only.
  const { find, findOne, create, delete: remove } = crudController('sendingDomains')({ strapi });
  return {
    find,
    findOne,
    create,
    delete: remove,
    /** The DKIM, SPF and DMARC records to publish, looked up unless `?check=false`. */
    async dns(ctx: Context) {
      ctx.body = { data: await getService(strapi, 'sendingDomains').dns(ctx.params.id, ctx.query) };
    },
  };
};

export default sendingDomains;
