import * as React from 'react';

import { Badge, Box, Button, Flex, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { testRoutingSchema, type TestRoutingInput, type TestRoutingResult } from '../../../../shared/contracts/routing-rules';
import { errorForField, toApiError } from '../../api/errors';
import { useTestRouting } from '../../api/routing-rules';
import { CellText, DataTable } from '../../components/DataTable';
import { TextField } from '../../components/form/fields';
import { getTranslation } from '../../utils/getTranslation';
import { validateWith } from '../../utils/validate';

const list = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

/** "Where would this message go?": the engine's own decision for a message described here. */
export function RoutingTester() {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const test = useTestRouting();
  const [values, setValues] = React.useState({ from: '', to: '', tags: '', campaign: '', segment: '', group: '', server: '' });
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const set = (key: keyof typeof values) => (value: string) => {
    setValues((current) => ({ ...current, [key]: value }));
    setErrors({});
  };

  const onSubmit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const at = values.segment.indexOf('=');
    const input: TestRoutingInput = {
      from: values.from || null,
      to: list(values.to),
      tags: list(values.tags),
      campaign: values.campaign || null,
      segment: values.segment ? { attribute: values.segment.slice(0, Math.max(0, at)).trim() || values.segment.trim(), value: at < 0 ? '' : values.segment.slice(at + 1).trim() } : null,
      group: values.group || null,
      server: values.server || null,
    };
    const problems = validateWith(testRoutingSchema, input);
    if (Object.keys(problems).length > 0) {
      setErrors(problems);
      return;
    }
    try {
      await test.mutateAsync(input);
    } catch (error) {
      setErrors(toApiError(error).fieldErrors);
    }
  };

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
      <form onSubmit={onSubmit} noValidate aria-label={text('routingTester.title', 'Where would this message go?')}>
        <Flex direction="column" alignItems="stretch" gap={4}>
          <Typography variant="delta" tag="h2">
            {text('routingTester.title', 'Where would this message go?')}
          </Typography>
          <Flex gap={4} alignItems="flex-start" wrap="wrap">
            <Box flex="1" minWidth="240px">
              <TextField name="to" label={text('routingTester.to', 'To')} hint={text('routingTester.to.hint', 'Addresses, comma-separated')} required value={values.to} onChange={set('to')} error={errorForField(errors, 'to')} />
            </Box>
            <Box flex="1" minWidth="240px">
              <TextField name="from" label={text('routingTester.from', 'From')} value={values.from} onChange={set('from')} error={errorForField(errors, 'from')} />
            </Box>
            <Box flex="1" minWidth="240px">
              <TextField name="tags" label={text('routingTester.tags', 'Tags')} value={values.tags} onChange={set('tags')} error={errorForField(errors, 'tags')} />
            </Box>
          </Flex>
          <Flex gap={4} alignItems="flex-start" wrap="wrap">
            <Box flex="1" minWidth="180px">
              <TextField name="campaign" label={text('routingTester.campaign', 'Campaign (documentId)')} value={values.campaign} onChange={set('campaign')} error={errorForField(errors, 'campaign')} />
            </Box>
            <Box flex="1" minWidth="180px">
              <TextField name="segment" label={text('routingTester.segment', 'Segment')} placeholder="region = eu" value={values.segment} onChange={set('segment')} error={errorForField(errors, 'segment')} />
            </Box>
            <Box flex="1" minWidth="180px">
              <TextField name="group" label={text('routingTester.group', 'Group option (slug)')} value={values.group} onChange={set('group')} error={errorForField(errors, 'group')} />
            </Box>
            <Box flex="1" minWidth="180px">
              <TextField name="server" label={text('routingTester.server', 'Server option (documentId)')} value={values.server} onChange={set('server')} error={errorForField(errors, 'server')} />
            </Box>
          </Flex>
          <Flex>
            <Button type="submit" loading={test.isPending}>
              {text('routingTester.run', 'Test routing')}
            </Button>
          </Flex>
          {test.data && <TestResult result={test.data} />}
        </Flex>
      </form>
    </Box>
  );
}

function TestResult({ result }: { result: TestRoutingResult }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  return (
    <Flex direction="column" alignItems="stretch" gap={3} role="status" aria-label={text('routingTester.result', 'Routing decision')}>
      <Typography fontWeight="bold">{result.summary}</Typography>
      {result.fallbackChain.length > 1 && (
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(
            { id: getTranslation('routingTester.fallbacks'), defaultMessage: 'Fallbacks: {chain}' },
            { chain: result.fallbackChain.slice(1).map((group) => group.name).join(' → ') }
          )}
        </Typography>
      )}
      <DataTable
        columns={[
          { key: 'name', header: text('routingTester.column.server', 'Server'), render: (row) => <CellText>{row.name}</CellText> },
          { key: 'group', header: text('routingTester.column.group', 'Group'), render: (row) => <CellText>{row.group || '—'}</CellText> },
          {
            key: 'eligible',
            header: text('routingTester.column.eligible', 'Could take it'),
            render: (row) => (
              <Badge active={row.eligible}>{row.eligible ? text('routingTester.yes', 'yes') : row.reason ?? text('routingTester.no', 'no')}</Badge>
            ),
          },
        ]}
        rows={result.servers}
        rowKey={(row) => `${row.group}:${row.documentId}`}
      />
    </Flex>
  );
}
