import { SubNav } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useLocation } from 'react-router-dom';

import { getTranslation } from '../utils/getTranslation';
import { paths } from '../utils/paths';

/** The plugin's side navigation: Servers and Groups. */
export function PluginNav() {
  const { formatMessage } = useIntl();
  const { pathname } = useLocation();

  // The servers list lives at the plugin's root, so "Servers" is active everywhere except under /groups.
  const onGroupsPage = pathname.includes(paths.groups);

  return (
    <SubNav.Main aria-label={formatMessage({ id: getTranslation('nav.label'), defaultMessage: 'Multi SMTP' })}>
      <SubNav.Header label={formatMessage({ id: getTranslation('plugin.name'), defaultMessage: 'Multi SMTP' })} />
      <SubNav.Content>
        <SubNav.Link
          to={paths.servers}
          end
          className={onGroupsPage ? undefined : 'active'}
          label={formatMessage({ id: getTranslation('nav.servers'), defaultMessage: 'Servers' })}
        />
        <SubNav.Link
          to={paths.groups}
          label={formatMessage({ id: getTranslation('nav.groups'), defaultMessage: 'Groups' })}
        />
      </SubNav.Content>
    </SubNav.Main>
  );
}
