import { Box, Grid, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { MAX_REPORT_RANGE_DAYS } from '../../../../shared/contracts/reports';
import { DateField, SelectField, type SelectOption } from '../../components/form/fields';
import { getTranslation } from '../../utils/getTranslation';
import { RANGE_PRESETS, type IntervalChoice, type RangePreset, type useReportRange } from './reportRange';

type ReportRange = ReturnType<typeof useReportRange>;

/** Last 24 h / 7 days / 30 days / custom days, and the series' interval (auto, hour, day). */
export function ReportRangePicker({ range }: { range: ReportRange }) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
  const { state, problem, update } = range;

  const presetLabels: Record<RangePreset, string> = {
    '24h': text('reports.range.24h', 'Last 24 hours'),
    '7d': text('reports.range.7d', 'Last 7 days'),
    '30d': text('reports.range.30d', 'Last 30 days'),
    custom: text('reports.range.custom', 'Custom dates'),
  };
  const presetOptions: SelectOption[] = RANGE_PRESETS.map((preset) => ({ value: preset, label: presetLabels[preset] }));
  const intervalOptions: SelectOption[] = [
    { value: 'auto', label: text('reports.interval.auto', 'Automatic') },
    { value: 'hour', label: text('reports.interval.hour', 'Hourly') },
    { value: 'day', label: text('reports.interval.day', 'Daily') },
  ];

  const dayFields = [
    { name: 'from' as const, label: text('reports.range.from', 'From') },
    { name: 'to' as const, label: text('reports.range.to', 'To (included)') },
  ];

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={4} data-testid="report-range">
      <Grid.Root gap={4}>
        <Grid.Item col={3} m={6} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="range"
            label={text('reports.range', 'Time range')}
            options={presetOptions}
            value={state.preset}
            onChange={(value) => update({ preset: value as RangePreset })}
          />
        </Grid.Item>
        {state.preset === 'custom' &&
          dayFields.map((day) => (
            <Grid.Item key={day.name} col={3} m={6} s={12} direction="column" alignItems="stretch">
              <DateField
                name={day.name}
                label={day.label}
                value={state[day.name]}
                onChange={(value) => update({ [day.name]: value })}
              />
            </Grid.Item>
          ))}
        <Grid.Item col={3} m={6} s={12} direction="column" alignItems="stretch">
          <SelectField
            name="interval"
            label={text('reports.interval', 'Interval')}
            options={intervalOptions}
            value={state.interval}
            onChange={(value) => update({ interval: value as IntervalChoice })}
          />
        </Grid.Item>
      </Grid.Root>
      {problem && (
        <Box paddingTop={3}>
          <Typography textColor="danger600" role="alert">
            {problem === 'order'
              ? text('reports.range.problem.order', 'The end of the range must come after its start.')
              : text('reports.range.problem.tooLong', 'A report covers at most {days} days.', {
                  days: MAX_REPORT_RANGE_DAYS,
                })}
          </Typography>
        </Box>
      )}
    </Box>
  );
}
