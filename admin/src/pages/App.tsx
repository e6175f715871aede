import { Page, Layouts } from '@strapi/strapi/admin';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Route, Routes } from 'react-router-dom';

import { ACTIONS, actionId } from '../../../shared/permissions';
import { isWorthRetrying } from '../api/errors';
import { PluginNav } from '../components/PluginNav';
import { REPORTS_READ_PERMISSIONS } from '../hooks/usePluginPermissions';
import { GroupEditPage } from './groups/GroupEditPage';
import { GroupsListPage } from './groups/GroupsListPage';
import { DeliveryLogPage } from './log/DeliveryLogPage';
import { ServerEditPage } from './servers/ServerEditPage';
import { ServersListPage } from './servers/ServersListPage';

/**
 * One cache for the whole plugin, created once when the plugin's code loads, so moving between
 * pages reuses what was already fetched.
 */
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 404 or 403 will not change on a second try; a network blip might.
      retry: (failureCount, error) => failureCount < 2 && isWorthRetrying(error),
      refetchOnWindowFocus: false,
    },
  },
});

const READ_PERMISSIONS = [{ action: actionId(ACTIONS.serversRead), subject: null }];

/** The plugin's root page: its routes, inside the side navigation. */
const App = () => (
  <QueryClientProvider client={queryClient}>
    <Page.Protect permissions={READ_PERMISSIONS}>
      <Layouts.Root sideNav={<PluginNav />}>
        <Routes>
          <Route index element={<ServersListPage />} />
          <Route path="servers/new" element={<ServerEditPage />} />
          <Route path="servers/:id" element={<ServerEditPage />} />
          <Route path="groups" element={<GroupsListPage />} />
          <Route path="groups/new" element={<GroupEditPage />} />
          <Route path="groups/:id" element={<GroupEditPage />} />
          <Route
            path="log"
            element={
              <Page.Protect permissions={REPORTS_READ_PERMISSIONS}>
                <DeliveryLogPage />
              </Page.Protect>
            }
          />
          <Route path="*" element={<Page.Error />} />
        </Routes>
      </Layouts.Root>
    </Page.Protect>
  </QueryClientProvider>
);

export default App;
