import { ACTIONS } from '../../../shared/permissions';
import { alertsRoutes } from './admin-alerts';
import { audienceRoutes } from './admin-audience';
import { bounceMailboxesRoutes } from './admin-bounce-mailboxes';
import { campaignsRoutes } from './admin-campaigns';
import { reportsRoutes } from './admin-reports';
import { requires } from './policies';
import { responseRulesRoutes } from './admin-response-rules';
import { routingRulesRoutes } from './admin-routing-rules';
import { sendingDomainsRoutes } from './admin-sending-domains';

/** Admin API, served under /multi-smtp/... to admin users only. */
export default {
  type: 'admin' as const,
  routes: [
    { method: 'GET', path: '/servers', handler: 'servers.find', config: requires(ACTIONS.serversRead) },
    { method: 'GET', path: '/servers/:id', handler: 'servers.findOne', config: requires(ACTIONS.serversRead) },
    { method: 'POST', path: '/servers', handler: 'servers.create', config: requires(ACTIONS.serversManage) },
    { method: 'PUT', path: '/servers/:id', handler: 'servers.update', config: requires(ACTIONS.serversManage) },
    { method: 'DELETE', path: '/servers/:id', handler: 'servers.delete', config: requires(ACTIONS.serversManage) },
    {
      method: 'POST',
      path: '/servers/:id/test-connection',
      handler: 'serverTests.testConnection',
      config: requires(ACTIONS.serversTest),
    },
    {
      method: 'POST',
      path: '/servers/:id/test-email',
      handler: 'serverTests.sendTestEmail',
      config: requires(ACTIONS.serversTest),
    },

    { method: 'GET', path: '/status', handler: 'status.overview', config: requires(ACTIONS.serversRead) },
    { method: 'GET', path: '/servers/:id/status', handler: 'status.server', config: requires(ACTIONS.serversRead) },
    { method: 'POST', path: '/servers/:id/suspend', handler: 'status.suspend', config: requires(ACTIONS.serversManage) },
    { method: 'POST', path: '/servers/:id/resume', handler: 'status.resume', config: requires(ACTIONS.serversManage) },

    { method: 'GET', path: '/groups', handler: 'groups.find', config: requires(ACTIONS.serversRead) },
    { method: 'GET', path: '/groups/:id', handler: 'groups.findOne', config: requires(ACTIONS.serversRead) },
    { method: 'POST', path: '/groups', handler: 'groups.create', config: requires(ACTIONS.serversManage) },
    { method: 'PUT', path: '/groups/:id', handler: 'groups.update', config: requires(ACTIONS.serversManage) },
    { method: 'DELETE', path: '/groups/:id', handler: 'groups.delete', config: requires(ACTIONS.serversManage) },

    { method: 'GET', path: '/messages', handler: 'messages.find', config: requires(ACTIONS.reportsRead) },
    { method: 'GET', path: '/messages/:id', handler: 'messages.findOne', config: requires(ACTIONS.reportsRead) },

    ...campaignsRoutes,
    ...audienceRoutes,
    ...reportsRoutes,
    ...alertsRoutes,
    ...bounceMailboxesRoutes,
    ...sendingDomainsRoutes,
    ...responseRulesRoutes,
    ...routingRulesRoutes,
  ],
};
