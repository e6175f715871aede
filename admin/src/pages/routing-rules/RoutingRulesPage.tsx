import * as React from 'react';

import { Box, Button, EmptyStateLayout, Flex, IconButton, Switch, Typography } from '@strapi/design-system';
import { ArrowDown, ArrowUp, Pencil, Plus } from '@strapi/icons';
import { Layouts, Page, useNotification, useRBAC } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { RoutingRule } from '../../../../shared/contracts/routing-rules';
import { ACTIONS, actionId } from '../../../../shared/permissions';
import { toApiError } from '../../api/errors';
import { useRoutingRuleList, useRoutingRuleMutation, useRoutingRulesApi } from '../../api/routing-rules';
import { ContentLoader } from '../../components/ContentLoader';
import { CellText, DataTable, type Column } from '../../components/DataTable';
import { ErrorBox } from '../../components/ErrorBox';
import { getTranslation } from '../../utils/getTranslation';
import { describeConditions } from './ruleForm';
import { RoutingRuleDialog } from './RoutingRuleDialog';
import { RoutingTester } from './RoutingTester';

/** Module-level so useRBAC checks once. */
const ROUTING_PERMISSIONS = [
  { action: actionId(ACTIONS.routingRead), subject: null },
  { action: actionId(ACTIONS.routingManage), subject: null },
];

/** The dialog open on the page: none, a new rule, or one rule. */
type Open = null | 'new' | RoutingRule;

/**
 * Routing rules: the ordered list (first enabled match wins), moved up and down, switched on and
 * off, edited in a dialog, deleted after a confirmation; and the "where would this message go?"
 * tester below it.
 */
export function RoutingRulesPage() {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const { allowedActions } = useRBAC(ROUTING_PERMISSIONS);
  const canManage = Boolean(allowedActions.canManage);
  const rules = useRoutingRuleList();
  const api = useRoutingRulesApi();
  const { toggleNotification } = useNotification();
  const [open, setOpen] = React.useState<Open>(null);
  const reorder = useRoutingRuleMutation((ids: string[]) => api.reorder(ids));
  const toggle = useRoutingRuleMutation(({ rule, enabled }: { rule: RoutingRule; enabled: boolean }) => api.update(rule.documentId, { enabled }));

  const failed = (error: unknown) => toggleNotification({ type: 'danger', message: toApiError(error).message });
  const move = (index: number, by: -1 | 1) => {
    const ids = (rules.data?.data ?? []).map((rule) => rule.documentId);
    const [moved] = ids.splice(index, 1);
    ids.splice(index + by, 0, moved!);
    reorder.mutateAsync(ids).catch(failed);
  };

  const rows = rules.data?.data ?? [];
  const columns: Column<RoutingRule>[] = [
    { key: 'position', header: '#', render: (row) => <CellText>{rows.indexOf(row) + 1}</CellText> },
    {
      key: 'name',
      header: text('routingRules.column.name', 'Rule'),
      render: (row) => (
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography fontWeight="semiBold" textColor="neutral800">
            {row.name}
          </Typography>
          <Typography variant="pi" textColor="neutral600">
            {describeConditions(row.conditions) || text('routingRules.catchAll', 'Every message (no condition)')}
          </Typography>
        </Flex>
      ),
    },
    {
      key: 'target',
      header: text('routingRules.column.target', 'Sends to'),
      render: (row) => (
        <CellText>
          {formatMessage(
            { id: getTranslation('routingRules.target'), defaultMessage: '{kind, select, group {group} other {server}} {name}' },
            { kind: row.target.kind, name: row.target.name ?? row.target.id }
          )}
        </CellText>
      ),
    },
    {
      key: 'enabled',
      header: text('routingRules.column.enabled', 'Enabled'),
      render: (row) => (
        <Box onClick={(event: React.MouseEvent) => event.stopPropagation()}>
          <Switch
            aria-label={formatMessage({ id: getTranslation('routingRules.toggle'), defaultMessage: 'Enable {name}' }, { name: row.name })}
            checked={row.enabled}
            disabled={!canManage}
            onCheckedChange={(enabled: boolean) => toggle.mutateAsync({ rule: row, enabled }).catch(failed)}
          />
        </Box>
      ),
    },
    {
      key: 'actions',
      header: text('routingRules.column.actions', 'Actions'),
      render: (row) => {
        const index = rows.indexOf(row);
        return (
          <Flex gap={1} onClick={(event: React.MouseEvent) => event.stopPropagation()}>
            <IconButton
              label={formatMessage({ id: getTranslation('routingRules.moveUp'), defaultMessage: 'Move {name} up' }, { name: row.name })}
              disabled={!canManage || index === 0 || reorder.isPending}
              onClick={() => move(index, -1)}
            >
              <ArrowUp />
            </IconButton>
            <IconButton
              label={formatMessage({ id: getTranslation('routingRules.moveDown'), defaultMessage: 'Move {name} down' }, { name: row.name })}
              disabled={!canManage || index === rows.length - 1 || reorder.isPending}
              onClick={() => move(index, 1)}
            >
              <ArrowDown />
            </IconButton>
            <IconButton
              label={formatMessage({ id: getTranslation('routingRules.edit'), defaultMessage: 'Edit {name}' }, { name: row.name })}
              onClick={() => setOpen(row)}
            >
              <Pencil />
            </IconButton>
          </Flex>
        );
      },
    },
  ];

  const title = text('routingRules.title', 'Routing rules');
  return (
    <Page.Main>
      <Page.Title>{title}</Page.Title>
      <Layouts.Header
        title={title}
        subtitle={text(
          'routingRules.subtitle',
          'Mail that names no group or server goes by the first enabled rule that matches it, else to the default group.'
        )}
        primaryAction={
          canManage ? (
            <Button startIcon={<Plus />} onClick={() => setOpen('new')}>
              {text('routingRules.add', 'Add rule')}
            </Button>
          ) : undefined
        }
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {rules.isPending ? (
            <ContentLoader />
          ) : rules.isError ? (
            <ErrorBox title={text('routingRules.loadFailed', 'The routing rules could not be loaded')} message={toApiError(rules.error).message} />
          ) : rows.length === 0 ? (
            <EmptyStateLayout content={text('routingRules.empty', 'No routing rule yet: mail goes to the group it names, or the default group.')} />
          ) : (
            <DataTable columns={columns} rows={rows} rowKey={(row) => row.documentId} onRowClick={setOpen} />
          )}
          <RoutingTester />
        </Flex>
      </Layouts.Content>
      {open && <RoutingRuleDialog rule={open === 'new' ? null : open} canManage={canManage} onClose={() => setOpen(null)} />}
    </Page.Main>
  );
}
