import { LinkButton } from '@strapi/design-system';
import { ChartPie } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { Link as RouterLink } from 'react-router-dom';

import type { Campaign } from '../../../../shared/contracts/campaigns';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';

/** "Report" in a campaign's header, once it has started sending, for admins who may read reports. */
export function CampaignReportLink({ campaign }: { campaign: Campaign }) {
  const { formatMessage } = useIntl();
  const { reportsRead } = usePluginPermissions();
  if (!reportsRead || campaign.status === 'draft' || campaign.status === 'scheduled') return null;
  return (
    <LinkButton
      tag={RouterLink}
      to={paths.campaignReport(campaign.documentId)}
      variant="secondary"
      startIcon={<ChartPie />}
    >
      {formatMessage({ id: getTranslation('reports.campaign.link'), defaultMessage: 'Report' })}
    </LinkButton>
  );
}
