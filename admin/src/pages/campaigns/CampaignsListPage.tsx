import { Button, Flex, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';

import { CAMPAIGN_STATUSES, type Campaign } from '../../../../shared/contracts/campaigns';
import { useCampaignList } from '../../api/campaign-queries';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { FilterBar } from '../../components/FilterBar';
import { ListPageLayout, ListResult } from '../../components/ListPageLayout';
import { NoValue } from '../../components/LiveStatus';
import { useLabels } from '../../hooks/useLabels';
import { useListParams } from '../../hooks/useListParams';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { useUrlFilters } from '../../hooks/useUrlFilters';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { CampaignProgressView, CampaignStatusBadge, useCampaignStatusLabel, useDurationText } from './CampaignProgressView';

/** Every campaign, newest change first, with live progress while one is sending. A row opens the editor. */
export function CampaignsListPage() {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { campaignsManage } = usePluginPermissions();
  const { page, pageSize, q } = useListParams();
  const { filters, setFilter, hasFilters } = useUrlFilters({ status: CAMPAIGN_STATUSES });
  const statusLabel = useCampaignStatusLabel();
  const campaigns = useCampaignList({ page, pageSize, q, status: filters.status || undefined, sort: 'updatedAt:desc' });
  const columns = useCampaignColumns();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return (
    <ListPageLayout
      title={text('campaigns.title', 'Campaigns')}
      subtitle={text('campaigns.subtitle', 'Write a message, choose who gets it, test it, then send or schedule it.')}
      primaryAction={
        campaignsManage ? (
          <Button startIcon={<Plus />} onClick={() => navigate(paths.newCampaign)}>
            {text('campaigns.add', 'New campaign')}
          </Button>
        ) : undefined
      }
      search={{
        label: text('campaigns.search', 'Search campaigns'),
        placeholder: text('campaigns.search.placeholder', 'Search by name or subject'),
      }}
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <FilterBar
          selects={[
            {
              name: 'status',
              label: text('campaigns.filter.status', 'Status'),
              anyLabel: text('campaigns.filter.status.any', 'All statuses'),
              options: CAMPAIGN_STATUSES.map((status) => ({ value: status, label: statusLabel(status) })),
              value: filters.status,
            },
          ]}
          onChange={(name, value) => setFilter(name as 'status', value)}
        />
        <ListResult
          query={campaigns}
          errorTitle={text('campaigns.loadFailed', 'The campaigns could not be loaded')}
          emptyText={
            q || hasFilters
              ? text('campaigns.empty.search', 'No campaign matches this search.')
              : text('campaigns.empty', 'No campaign yet.')
          }
        >
          {(rows) => (
            <DataTable
              columns={columns}
              rows={rows}
              rowKey={(campaign) => campaign.documentId}
              onRowClick={(campaign) => navigate(paths.campaign(campaign.documentId))}
            />
          )}
        </ListResult>
      </Flex>
    </ListPageLayout>
  );
}

/** Whether a campaign has anything to show in the progress columns. */
const hasStarted = (campaign: Campaign) => campaign.status !== 'draft' && campaign.status !== 'scheduled';

function useCampaignColumns(): Column<Campaign>[] {
  const { formatMessage, formatNumber } = useIntl();
  const labels = useLabels();
  const duration = useDurationText();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  return [
    {
      key: 'name',
      header: text('campaigns.column.name', 'Name'),
      render: (campaign) => (
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography fontWeight="semiBold" textColor="neutral800">
            {campaign.name}
          </Typography>
          <Typography variant="pi" textColor="neutral600" ellipsis style={{ maxWidth: '24rem' }}>
            {campaign.subject ?? '—'}
          </Typography>
        </Flex>
      ),
    },
    {
      key: 'status',
      header: text('campaigns.column.status', 'Status'),
      render: (campaign) => <CampaignStatusBadge status={campaign.status} />,
    },
    {
      key: 'progress',
      header: text('campaigns.column.progress', 'Progress'),
      render: (campaign) =>
        hasStarted(campaign) ? (
          <CampaignProgressView progress={campaign.progress} status={campaign.status} name={campaign.name} showRate={false} />
        ) : (
          <NoValue />
        ),
    },
    {
      key: 'rate',
      header: text('campaigns.column.rate', 'Rate'),
      render: (campaign) =>
        campaign.status === 'sending' ? (
          <CellText>
            {formatMessage(
              { id: getTranslation('campaign.progress.rate'), defaultMessage: '{rate}/s' },
              { rate: formatNumber(campaign.progress.ratePerSec, { maximumFractionDigits: 1 }) },
            )}
          </CellText>
        ) : (
          <NoValue />
        ),
    },
    {
      key: 'eta',
      header: text('campaigns.column.eta', 'Time left'),
      render: (campaign) =>
        campaign.status === 'sending' && campaign.progress.etaSeconds !== null ? (
          <CellText>{duration(campaign.progress.etaSeconds)}</CellText>
        ) : (
          <NoValue />
        ),
    },
    {
      key: 'when',
      header: text('campaigns.column.when', 'Scheduled / started'),
      render: (campaign) => {
        const when = campaign.startedAt ?? campaign.scheduledAt;
        return when ? (
          <Typography textColor="neutral800" style={{ whiteSpace: 'nowrap' }}>
            {labels.dateTime(Date.parse(when))}
          </Typography>
        ) : (
          <NoValue />
        );
      },
    },
  ];
}
