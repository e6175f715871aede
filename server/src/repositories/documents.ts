import type { Core } from '@strapi/strapi';

type Params = Record<string, unknown>;

/**
 * The part of Strapi's document service the repositories use, typed with the plugin's own entity
 * types: the service's generics are keyed to an app's generated registry, which a plugin cannot see.
 */
export interface DocumentAccess<Entity> {
  findMany(params?: Params): Promise<Entity[]>;
  findFirst(params?: Params): Promise<Entity | null>;
  findOne(params: { documentId: string } & Params): Promise<Entity | null>;
  count(params?: Params): Promise<number>;
  create(params: { data: Params } & Params): Promise<Entity>;
  update(params: { documentId: string; data: Params } & Params): Promise<Entity>;
  delete(params: { documentId: string }): Promise<unknown>;
}

export const documentsOf = <Entity>(strapi: Core.Strapi, uid: string) =>
  strapi.documents(uid as never) as unknown as DocumentAccess<Entity>;
