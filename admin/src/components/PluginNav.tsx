import { SubNav } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useLocation } from 'react-router-dom';

import { usePluginPermissions } from '../hooks/usePluginPermissions';
import { getTranslation } from '../utils/getTranslation';
import { paths } from '../utils/paths';

/** The plugin's side navigation: Servers, Groups and (with `reports.read`) the Delivery log. */
export function PluginNav() {
  const { formatMessage } = useIntl();
  const { pathname } = useLocation();
  const { reportsRead } = usePluginPermissions();

  // The servers list lives at the plugin's root, so "Servers" is active everywhere except under the other pages.
  const onOtherPage = pathname.includes(paths.groups) || pathname.includes(paths.log);

  return (
    <SubNav.Main aria-label={formatMessage({ id: getTranslation('nav.label'), defaultMessage: 'Multi SMTP' })}>
      <SubNav.Header label={formatMessage({ id: getTranslation('plugin.name'), defaultMessage: 'Multi SMTP' })} />
      <SubNav.Content>
        <SubNav.Link
          to={paths.servers}
          end
          className={onOtherPage ? undefined : 'active'}
          label={formatMessage({ id: getTranslation('nav.servers'), defaultMessage: 'Servers' })}
        />
        <SubNav.Link
          to={paths.groups}
          label={formatMessage({ id: getTranslation('nav.groups'), defaultMessage: 'Groups' })}
        />
        {reportsRead && (
          <SubNav.Link
            to={paths.log}
            label={formatMessage({ id: getTranslation('nav.log'), defaultMessage: 'Delivery log' })}
          />
        )}
      </SubNav.Content>
    </SubNav.Main>
  );
}
