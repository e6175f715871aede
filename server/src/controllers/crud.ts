import type { Core } from '@strapi/strapi';

import type services from '../services';
import { getService } from '../utils/get-service';

export type Context = Parameters<Core.MiddlewareHandler>[0];

/**
 * What a CRUD controller needs from its service; the service validates and shapes everything.
 * `update` may be missing (a sending domain is replaced, not edited): its route is then not declared.
 */
interface CrudService {
  list(query: unknown): Promise<unknown>;
  get(id: string): Promise<unknown>;
  create(input: unknown): Promise<unknown>;
  update?(id: string, input: unknown): Promise<unknown>;
  delete(id: string): Promise<void>;
}

type Services = typeof services;
/** The plugin's services that have the CRUD methods, so a new resource needs no list kept here. */
type CrudServiceName = { [Name in keyof Services]: ReturnType<Services[Name]> extends CrudService ? Name : never }[keyof Services];

/** Thin HTTP layer for a CRUD resource: read the request, call the service, set the body. */
export const crudController =
  (serviceName: CrudServiceName) =>
  ({ strapi }: { strapi: Core.Strapi }) => {
    const service = (): CrudService => getService(strapi, serviceName);
    return {
      async find(ctx: Context) {
        ctx.body = await service().list(ctx.query);
      },
      async findOne(ctx: Context) {
        ctx.body = { data: await service().get(ctx.params.id) };
      },
      async create(ctx: Context) {
        ctx.status = 201;
        ctx.body = { data: await service().create(ctx.request.body) };
      },
      async update(ctx: Context) {
        const resource = service();
        if (!resource.update) return ctx.methodNotAllowed(`${serviceName} cannot be edited`);
        ctx.body = { data: await resource.update(ctx.params.id, ctx.request.body) };
      },
      async delete(ctx: Context) {
        await service().delete(ctx.params.id);
        ctx.status = 204;
      },
    };
  };
