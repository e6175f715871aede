import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

const read = requires(ACTIONS.reportsRead);

/** Admin routes for reports (spread into admin.ts). Each answers JSON, or CSV with ?format=csv. */
export const reportsRoutes = [
  { method: 'GET', path: '/reports/overview', handler: 'reports.overview', config: read },
  { method: 'GET', path: '/reports/servers', handler: 'reports.servers', config: read },
  { method: 'GET', path: '/reports/servers/:id', handler: 'reports.server', config: read },
  { method: 'GET', path: '/reports/groups', handler: 'reports.groups', config: read },
  { method: 'GET', path: '/reports/campaigns/:id', handler: 'reports.campaign', config: read },
];
