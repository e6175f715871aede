import { Page, Layouts } from '@strapi/strapi/admin';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Navigate, Route, Routes } from 'react-router-dom';

import { ACTIONS, actionId } from '../../../shared/permissions';
import { isWorthRetrying } from '../api/errors';
import { PluginNav } from '../components/PluginNav';
import { REPORTS_READ_PERMISSIONS, usePluginPermissions } from '../hooks/usePluginPermissions';
import { paths } from '../utils/paths';
import { CampaignEditPage } from './campaigns/CampaignEditPage';
import { CampaignsListPage } from './campaigns/CampaignsListPage';
import { GroupEditPage } from './groups/GroupEditPage';
import { GroupsListPage } from './groups/GroupsListPage';
import { MailingListsPage } from './lists/MailingListsPage';
import { AlertsPage } from './reports/AlertsPage';
import { CampaignReportPage } from './reports/CampaignReportPage';
import { ReportsOverviewPage } from './reports/ReportsOverviewPage';
import { ServerReportPage } from './reports/ServerReportPage';
import { DeliveryLogPage } from './log/DeliveryLogPage';
import { ResponseRulesPage } from './response-rules/ResponseRulesPage';
import { RoutingRulesPage } from './routing-rules/RoutingRulesPage';
import { SendingDomainsPage } from './sending-domains/SendingDomainsPage';
import { ServerEditPage } from './servers/ServerEditPage';
import { ServersListPage } from './servers/ServersListPage';
import { SubscribersPage } from './subscribers/SubscribersPage';
import { SuppressionsPage } from './suppressions/SuppressionsPage';

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

const SERVERS_READ = [{ action: actionId(ACTIONS.serversRead), subject: null }];
const CAMPAIGNS_READ = [{ action: actionId(ACTIONS.campaignsRead), subject: null }];
const ROUTING_READ = [{ action: actionId(ACTIONS.routingRead), subject: null }];
/** Any one opens the plugin (Page.Protect lets in an admin with any one of them). */
const READ_PERMISSIONS = [...SERVERS_READ, ...CAMPAIGNS_READ, ...REPORTS_READ_PERMISSIONS, ...ROUTING_READ];

/** The servers list, or the campaigns (or reports, or routing rules) for an admin who may only see those. */
function Home() {
  const { isLoading, canRead, campaignsRead, reportsRead, routingRead } = usePluginPermissions();
  if (isLoading) {
    return <Page.Loading />;
  }
  if (!canRead && !campaignsRead && reportsRead) {
    return <Navigate to={paths.reports} replace />;
  }
  if (!canRead && !campaignsRead && routingRead) {
    return <Navigate to={paths.routingRules} replace />;
  }
  return !canRead && campaignsRead ? <Navigate to={paths.campaigns} replace /> : <ServersListPage />;
}

const servers = (element: JSX.Element) => <Page.Protect permissions={SERVERS_READ}>{element}</Page.Protect>;
const campaigns = (element: JSX.Element) => <Page.Protect permissions={CAMPAIGNS_READ}>{element}</Page.Protect>;
const reports = (element: JSX.Element) => <Page.Protect permissions={REPORTS_READ_PERMISSIONS}>{element}</Page.Protect>;

/** The plugin's root page: its routes, inside the side navigation. */
const App = () => (
  <QueryClientProvider client={queryClient}>
    <Page.Protect permissions={READ_PERMISSIONS}>
      <Layouts.Root sideNav={<PluginNav />}>
        <Routes>
          <Route index element={<Home />} />
          <Route path="servers/new" element={servers(<ServerEditPage />)} />
          <Route path="servers/:id" element={servers(<ServerEditPage />)} />
          <Route path="groups" element={servers(<GroupsListPage />)} />
          <Route path="groups/new" element={servers(<GroupEditPage />)} />
          <Route path="groups/:id" element={servers(<GroupEditPage />)} />
          <Route path="sending-domains" element={servers(<SendingDomainsPage />)} />
          <Route path="response-rules" element={servers(<ResponseRulesPage />)} />
          <Route
            path="routing-rules"
            element={
              <Page.Protect permissions={ROUTING_READ}>
                <RoutingRulesPage />
              </Page.Protect>
            }
          />
          <Route
            path="log"
            element={
              <Page.Protect permissions={REPORTS_READ_PERMISSIONS}>
                <DeliveryLogPage />
              </Page.Protect>
            }
          />
          <Route path="reports" element={reports(<ReportsOverviewPage />)} />
          <Route path="reports/servers/:id" element={reports(<ServerReportPage />)} />
          <Route path="reports/campaigns/:id" element={reports(<CampaignReportPage />)} />
          <Route path="alerts" element={reports(<AlertsPage />)} />
          <Route path="campaigns" element={campaigns(<CampaignsListPage />)} />
          <Route path="campaigns/new" element={campaigns(<CampaignEditPage />)} />
          <Route path="campaigns/:id" element={campaigns(<CampaignEditPage />)} />
          <Route path="subscribers" element={campaigns(<SubscribersPage />)} />
          <Route path="lists" element={campaigns(<MailingListsPage />)} />
          <Route path="suppressions" element={campaigns(<SuppressionsPage />)} />
          <Route path="*" element={<Page.Error />} />
        </Routes>
      </Layouts.Root>
    </Page.Protect>
  </QueryClientProvider>
);

export default App;
