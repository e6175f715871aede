import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/**
 * Admin routes for sending domains and DKIM (spread into admin.ts); contracts in
 * shared/contracts/sending-domains.ts. They are part of configuring where mail goes out from, so
 * they take the servers' actions: reading needs servers.read, changing servers.manage.
 */
export const sendingDomainsRoutes = [
  { method: 'GET', path: '/sending-domains', handler: 'sendingDomains.find', config: requires(ACTIONS.serversRead) },
  {
    method: 'GET',
    path: '/sending-domains/:id',
    handler: 'sendingDomains.findOne',
    config: requires(ACTIONS.serversRead),
  },
  {
    method: 'GET',
    path: '/sending-domains/:id/dns',
    handler: 'sendingDomains.dns',
    config: requires(ACTIONS.serversRead),
  },
  {
    method: 'POST',
    path: '/sending-domains',
    handler: 'sendingDomains.create',
    config: requires(ACTIONS.serversManage),
  },
  {
    method: 'DELETE',
    path: '/sending-domains/:id',
    handler: 'sendingDomains.delete',
    config: requires(ACTIONS.serversManage),
  },
];
