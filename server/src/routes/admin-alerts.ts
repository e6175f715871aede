import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/** Admin routes for protection alerts (spread into admin.ts); contracts in shared/contracts/alerts.ts. */
export const alertsRoutes = [
  { method: 'GET', path: '/alerts', handler: 'alerts.find', config: requires(ACTIONS.reportsRead) },
  { method: 'GET', path: '/alerts/:id', handler: 'alerts.findOne', config: requires(ACTIONS.reportsRead) },
  { method: 'POST', path: '/alerts/:id/lift', handler: 'alerts.lift', config: requires(ACTIONS.serversManage) },
];
