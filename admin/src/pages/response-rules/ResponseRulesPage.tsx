import * as React from 'react';

import { Box, Button, EmptyStateLayout, Flex, Switch, Typography } from '@strapi/design-system';
import { Plus } from '@strapi/icons';
import { Layouts, Page, useNotification, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { CustomResponseRule, ShippedResponseRule } from '../../../../shared/contracts/response-rules';
import { ACTIONS, actionId } from '../../../../shared/permissions';
import { toApiError } from '../../api/errors';
import { useResponseRules, useToggleShippedRule } from '../../api/response-rules';
import { ContentLoader } from '../../components/ContentLoader';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { EnabledBadge } from '../../components/EnabledBadge';
import { ErrorBox } from '../../components/ErrorBox';
import { getTranslation } from '../../utils/getTranslation';
import { ResponseRuleDialog } from './ResponseRuleDialog';

/** Module-level so useRBAC gets the same array on every render. */
const RULES_MANAGE = [{ action: actionId(ACTIONS.responseRulesManage), subject: null }];

type Open = null | 'new' | CustomResponseRule;

/**
 * Response rules: SMTP replies that suspend or throttle the server that gave them. The shipped rules
 * are read-only (each can be turned off); custom rules are added, edited and deleted here. Changes
 * apply on every node within a few seconds.
 */
export function ResponseRulesPage() {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const rules = useResponseRules();
  const { allowedActions } = useRBAC(RULES_MANAGE);
  const canManage = Boolean(allowedActions.canManage);
  const [open, setOpen] = React.useState<Open>(null);
  const shippedColumns = useShippedColumns(canManage);
  const customColumns = useRuleColumns<CustomResponseRule>([
    {
      key: 'enabled',
      header: text('responseRules.column.enabled', 'State'),
      render: (row) => <EnabledBadge enabled={row.enabled} />,
    },
  ]);

  let content: React.ReactNode;
  if (rules.isPending) content = <ContentLoader />;
  else if (rules.isError) {
    content = (
      <ErrorBox
        title={text('responseRules.loadFailed', 'The response rules could not be loaded')}
        message={toApiError(rules.error).message}
      />
    );
  } else {
    content = (
      <Flex direction="column" alignItems="stretch" gap={6}>
        <Box>
          <Typography tag="h2" variant="delta">
            {text('responseRules.custom.title', 'Your rules')}
          </Typography>
          <Box paddingTop={3}>
            {rules.data.custom.length === 0 ? (
              <EmptyStateLayout
                content={text('responseRules.custom.empty', 'No rule of your own yet: only the shipped rules apply.')}
              />
            ) : (
              <DataTable
                columns={customColumns}
                rows={rules.data.custom}
                rowKey={(row) => row.documentId}
                onRowClick={setOpen}
              />
            )}
          </Box>
        </Box>
        <Box>
          <Typography tag="h2" variant="delta">
            {text('responseRules.shipped.title', 'Shipped rules')}
          </Typography>
          <Box paddingTop={3}>
            <DataTable columns={shippedColumns} rows={rules.data.shipped} rowKey={(row) => row.ruleId} />
          </Box>
        </Box>
      </Flex>
    );
  }

  return (
    <Page.Main>
      <Page.Title>{text('responseRules.title', 'Response rules')}</Page.Title>
      <Layouts.Header
        title={text('responseRules.title', 'Response rules')}
        subtitle={text(
          'responseRules.subtitle',
          'SMTP replies that suspend or throttle the server that gave them. Changes apply on every node within a few seconds.'
        )}
        primaryAction={
          canManage ? (
            <Button startIcon={<Plus />} onClick={() => setOpen('new')}>
              {text('responseRules.add', 'Add rule')}
            </Button>
          ) : undefined
        }
      />
      <Layouts.Content>{content}</Layouts.Content>
      {open && (
        <ResponseRuleDialog rule={open === 'new' ? null : open} canManage={canManage} onClose={() => setOpen(null)} />
      )}
    </Page.Main>
  );
}

/** The columns both tables share (what a rule matches and does), then `extra`. */
function useRuleColumns<Rule extends ShippedResponseRule>(extra: Column<Rule>[]): Column<Rule>[] {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return [
    {
      key: 'description',
      header: text('responseRules.column.rule', 'Rule'),
      render: (row) => (
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography fontWeight="semiBold" textColor="neutral800">
            {row.description}
          </Typography>
          <Typography variant="pi" textColor="neutral600" style={{ fontFamily: 'monospace', wordBreak: 'break-all' }}>
            {row.pattern}
          </Typography>
        </Flex>
      ),
    },
    {
      key: 'action',
      header: text('responseRules.column.action', 'Action'),
      render: (row) => (
        <CellText>
          {formatMessage(
            {
              id: getTranslation('responseRules.actionSummary'),
              defaultMessage:
                '{action, select, throttle {Throttle to {rate}/s} other {Suspend}} for {duration} s{count, select, none {} other {, after {count} matches within {window} s}}',
            },
            {
              action: row.action,
              rate: row.ratePerSecond ?? 0,
              duration: row.durationSec,
              count: row.thresholdCount === null ? 'none' : String(row.thresholdCount),
              window: row.thresholdWindowSec ?? 0,
            }
          )}
        </CellText>
      ),
    },
    ...extra,
  ];
}

function useShippedColumns(canManage: boolean): Column<ShippedResponseRule>[] {
  const { formatMessage } = useIntl();
  const { toggleNotification } = useNotification();
  const toggle = useToggleShippedRule();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return useRuleColumns<ShippedResponseRule>([
    {
      key: 'enabled',
      header: text('responseRules.column.enabled', 'State'),
      render: (row) =>
        canManage ? (
          <Switch
            aria-label={formatMessage(
              { id: getTranslation('responseRules.shipped.toggle'), defaultMessage: 'Turn {rule} on or off' },
              { rule: row.ruleId }
            )}
            checked={row.enabled}
            disabled={toggle.isPending}
            onCheckedChange={(checked: boolean) =>
              toggle
                .mutateAsync({ ruleId: row.ruleId, enabled: checked })
                .catch((error: unknown) => toggleNotification({ type: 'danger', message: toApiError(error).message }))
            }
          />
        ) : (
          <EnabledBadge enabled={row.enabled} />
        ),
    },
  ]);
}
