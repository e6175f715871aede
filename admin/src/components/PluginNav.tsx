import { SubNav } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useLocation } from 'react-router-dom';

import { usePluginPermissions } from '../hooks/usePluginPermissions';
import { getTranslation } from '../utils/getTranslation';
import { paths } from '../utils/paths';

/**
 * The plugin's side navigation, in sections shown per permission: Sending (Servers, Groups, Sending domains, Response rules),
 * Deliverability (with `reports.read`: Reports, Alerts, the Delivery log) and Campaigns (Campaigns,
 * Subscribers, Lists, Suppressions).
 */
export function PluginNav() {
  const { formatMessage } = useIntl();
  const { pathname } = useLocation();
  const { canRead, reportsRead, campaignsRead, routingRead } = usePluginPermissions();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  // The servers list lives at the plugin's root, so "Servers" is active everywhere except under the other pages.
  const otherPages = [paths.groups, paths.sendingDomains, paths.responseRules, paths.routingRules, paths.log, paths.campaigns, paths.subscribers, paths.lists, paths.suppressions, paths.reports, paths.alerts];
  const onOtherPage = otherPages.some((path) => pathname.includes(path));

  const sendingLinks = [
    canRead && (
      <SubNav.Link
        key="servers"
        to={paths.servers}
        end
        className={onOtherPage ? undefined : 'active'}
        label={text('nav.servers', 'Servers')}
      />
    ),
    canRead && <SubNav.Link key="groups" to={paths.groups} label={text('nav.groups', 'Groups')} />,
    canRead && (
      <SubNav.Link key="sending-domains" to={paths.sendingDomains} label={text('nav.sendingDomains', 'Sending domains')} />
    ),
    canRead && (
      <SubNav.Link key="response-rules" to={paths.responseRules} label={text('nav.responseRules', 'Response rules')} />
    ),
    routingRead && <SubNav.Link key="routing-rules" to={paths.routingRules} label={text('nav.routingRules', 'Routing rules')} />,
  ].filter(Boolean);

  const reportLinks = reportsRead
    ? [
        <SubNav.Link key="reports" to={paths.reports} label={text('nav.reports', 'Reports')} />,
        <SubNav.Link key="alerts" to={paths.alerts} label={text('nav.alerts', 'Alerts')} />,
        <SubNav.Link key="log" to={paths.log} label={text('nav.log', 'Delivery log')} />,
      ]
    : [];

  const campaignLinks = campaignsRead
    ? [
        <SubNav.Link key="campaigns" to={paths.campaigns} label={text('nav.campaigns', 'Campaigns')} />,
        <SubNav.Link key="subscribers" to={paths.subscribers} label={text('nav.subscribers', 'Subscribers')} />,
        <SubNav.Link key="lists" to={paths.lists} label={text('nav.lists', 'Lists')} />,
        <SubNav.Link key="suppressions" to={paths.suppressions} label={text('nav.suppressions', 'Suppressions')} />,
      ]
    : [];

  return (
    <SubNav.Main aria-label={text('nav.label', 'Multi SMTP')}>
      <SubNav.Header label={text('plugin.name', 'Multi SMTP')} />
      <SubNav.Content>
        <SubNav.Sections>
          {[
            sendingLinks.length > 0 && (
              <SubNav.Section key="sending" label={text('nav.section.sending', 'Sending')}>
                {sendingLinks}
              </SubNav.Section>
            ),
            reportLinks.length > 0 && (
              <SubNav.Section key="reports" label={text('nav.section.reports', 'Deliverability')}>
                {reportLinks}
              </SubNav.Section>
            ),
            campaignLinks.length > 0 && (
              <SubNav.Section key="campaigns" label={text('nav.section.campaigns', 'Email marketing')}>
                {campaignLinks}
              </SubNav.Section>
            ),
          ]}
        </SubNav.Sections>
      </SubNav.Content>
    </SubNav.Main>
  );
}
