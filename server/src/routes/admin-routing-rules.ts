import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/**
 * Admin routes for routing rules (spread into admin.ts); contracts in shared/contracts/routing-rules.ts.
 * Reading and the tester need routing.read, changing them routing.manage. The fixed paths come
 * before `/:id` so they are not taken for an id.
 */
export const routingRulesRoutes = [
  { method: 'GET', path: '/routing-rules', handler: 'routingRules.find', config: requires(ACTIONS.routingRead) },
  { method: 'POST', path: '/routing-rules/test', handler: 'routingRules.test', config: requires(ACTIONS.routingRead) },
  { method: 'PUT', path: '/routing-rules/order', handler: 'routingRules.reorder', config: requires(ACTIONS.routingManage) },
  { method: 'GET', path: '/routing-rules/:id', handler: 'routingRules.findOne', config: requires(ACTIONS.routingRead) },
  { method: 'POST', path: '/routing-rules', handler: 'routingRules.create', config: requires(ACTIONS.routingManage) },
  { method: 'PUT', path: '/routing-rules/:id', handler: 'routingRules.update', config: requires(ACTIONS.routingManage) },
  { method: 'DELETE', path: '/routing-rules/:id', handler: 'routingRules.delete', config: requires(ACTIONS.routingManage) },
];
