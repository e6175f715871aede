import { actionId, type ActionUid } from '../../../shared/permissions';

/**
 * Route config for an admin route that needs one RBAC action. Admin routes already demand an admin
 * token; this adds the permission check, so a role without the action gets 403.
 */
export const requires = (action: ActionUid) => ({
  policies: [
    'admin::isAuthenticatedAdmin',
    { name: 'admin::hasPermissions', config: { actions: [actionId(action)] } },
  ],
});
