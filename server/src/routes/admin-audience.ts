import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

const read = requires(ACTIONS.campaignsRead);
const manage = requires(ACTIONS.campaignsManage);

/**
 * Admin routes for the audience data: mailing lists, subscribers, suppressions (spread into admin.ts).
 * Fixed paths (import, export) come before `/:id`, which would otherwise take them.
 */
export const audienceRoutes = [
  // The campaign editor's audience picker: live count and the collection types it can use. Counting
  // reads any collection type with an email attribute (filters included), so it needs manage.
  { method: 'POST', path: '/audiences/count', handler: 'audiences.count', config: manage },
  { method: 'GET', path: '/audiences/sources', handler: 'audiences.sources', config: read },

  { method: 'GET', path: '/lists', handler: 'mailingLists.find', config: read },
  { method: 'GET', path: '/lists/:id', handler: 'mailingLists.findOne', config: read },
  { method: 'POST', path: '/lists', handler: 'mailingLists.create', config: manage },
  { method: 'PUT', path: '/lists/:id', handler: 'mailingLists.update', config: manage },
  { method: 'DELETE', path: '/lists/:id', handler: 'mailingLists.delete', config: manage },

  // Every address at once: manage, like the import, not read.
  { method: 'GET', path: '/subscribers/export', handler: 'subscribers.export', config: manage },
  { method: 'POST', path: '/subscribers/import', handler: 'subscribers.import', config: manage },
  { method: 'GET', path: '/subscribers', handler: 'subscribers.find', config: read },
  { method: 'GET', path: '/subscribers/:id', handler: 'subscribers.findOne', config: read },
  { method: 'POST', path: '/subscribers', handler: 'subscribers.create', config: manage },
  { method: 'PUT', path: '/subscribers/:id', handler: 'subscribers.update', config: manage },
  { method: 'DELETE', path: '/subscribers/:id', handler: 'subscribers.delete', config: manage },

  { method: 'GET', path: '/suppressions/export', handler: 'suppressions.export', config: read },
  { method: 'GET', path: '/suppressions', handler: 'suppressions.find', config: read },
  { method: 'GET', path: '/suppressions/:id', handler: 'suppressions.findOne', config: read },
  { method: 'POST', path: '/suppressions', handler: 'suppressions.create', config: manage },
  { method: 'DELETE', path: '/suppressions/:id', handler: 'suppressions.delete', config: manage },
] as { method: string; path: string; handler: string; config: ReturnType<typeof requires> }[];
