import { useRBAC } from '@strapi/strapi/admin';

import { ACTIONS, actionId } from '../../../shared/permissions';

/** Module-level so useRBAC gets the same array on every render and checks only once. */
const SERVER_PERMISSIONS = [
  { action: actionId(ACTIONS.serversRead), subject: null },
  { action: actionId(ACTIONS.serversManage), subject: null },
  { action: actionId(ACTIONS.serversTest), subject: null },
];

/**
 * What the current admin may do with servers and groups. The server enforces the same actions;
 * this only hides buttons that would fail. useRBAC names each result after the action's last
 * part: `servers.manage` -> `canManage`.
 */
export function usePluginPermissions() {
  const { allowedActions, isLoading } = useRBAC(SERVER_PERMISSIONS);
  return {
    isLoading,
    canRead: Boolean(allowedActions.canRead),
    canManage: Boolean(allowedActions.canManage),
    canTest: Boolean(allowedActions.canTest),
  };
}
