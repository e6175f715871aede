import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/**
 * Admin routes for response rules (spread into admin.ts); contracts in
 * shared/contracts/response-rules.ts. Reading them is part of reading the servers' setup
 * (servers.read); changing them has its own action, as a rule can suspend every server at once.
 */
export const responseRulesRoutes = [
  { method: 'GET', path: '/response-rules', handler: 'responseRules.find', config: requires(ACTIONS.serversRead) },
  {
    method: 'GET',
    path: '/response-rules/:id',
    handler: 'responseRules.findOne',
    config: requires(ACTIONS.serversRead),
  },
  {
    method: 'POST',
    path: '/response-rules',
    handler: 'responseRules.create',
    config: requires(ACTIONS.responseRulesManage),
  },
  {
    method: 'PUT',
    path: '/response-rules/:id',
    handler: 'responseRules.update',
    config: requires(ACTIONS.responseRulesManage),
  },
  {
    method: 'DELETE',
    path: '/response-rules/:id',
    handler: 'responseRules.delete',
    config: requires(ACTIONS.responseRulesManage),
  },
  {
    method: 'PUT',
    path: '/response-rules/shipped/:ruleId',
    handler: 'responseRules.setShipped',
    config: requires(ACTIONS.responseRulesManage),
  },
];
