import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/** Admin routes for bounce mailboxes over IMAP (spread into admin.ts). */
export const bounceMailboxesRoutes = [
  { method: 'GET', path: '/bounce-mailboxes', handler: 'bounceMailboxes.find', config: requires(ACTIONS.serversRead) },
  { method: 'POST', path: '/bounce-mailboxes/poll', handler: 'bounceMailboxes.poll', config: requires(ACTIONS.serversManage) },
];
