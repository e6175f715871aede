import * as React from 'react';

import { Button, Flex, IconButton, Typography } from '@strapi/design-system';
import { Plus, Trash } from '@strapi/icons';
import { useIntl } from 'react-intl';

import { MAX_SEGMENT_ROUTES, type SegmentOtherwise } from '../../../../shared/contracts/campaigns';
import { errorForField } from '../../api/errors';
import { useAllGroups } from '../../api/queries';
import { SelectField, TextField, ToggleField } from '../../components/form/fields';
import { FormCell, FormSection } from '../../components/form/FormSection';
import { getTranslation } from '../../utils/getTranslation';
import type { CampaignFormValues, SegmentRouteValues } from './campaignFormValues';

interface SegmentRoutingSectionProps {
  values: CampaignFormValues;
  onChange: <K extends keyof CampaignFormValues>(key: K, value: CampaignFormValues[K]) => void;
  /** Form errors; the API names them `segmentRouting.attribute`, `segmentRouting.routes.<n>.value`... */
  errors: Record<string, string>;
  disabled: boolean;
  canListGroups: boolean;
}

/**
 * "Segment routing": split the audience by a subscriber attribute (region, tier...) and send each
 * value's recipients through their own group; the rest through the campaign's group or nowhere.
 */
export function SegmentRoutingSection({ values, onChange, errors, disabled, canListGroups }: SegmentRoutingSectionProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string, params?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, params);
  const groups = useAllGroups({ enabled: canListGroups && values.segmentEnabled });
  const groupOptions = (groups.data?.data ?? []).map((group) => ({ value: group.documentId, label: group.name }));
  // Admins who may not list groups (or a group deleted since) still see the saved reference.
  for (const route of values.segmentRoutes) {
    if (route.group && !groupOptions.some((option) => option.value === route.group)) {
      groupOptions.push({ value: route.group, label: route.group });
    }
  }
  const routes = values.segmentRoutes;
  const setRoutes = (next: SegmentRouteValues[]) => onChange('segmentRoutes', next);
  const setRoute = (index: number, patch: Partial<SegmentRouteValues>) =>
    setRoutes(routes.map((route, position) => (position === index ? { ...route, ...patch } : route)));
  const otherwiseOptions: { value: SegmentOtherwise; label: string }[] = [
    { value: 'campaign-group', label: text('campaign.segments.otherwise.campaignGroup', 'Send through the campaign’s group') },
    { value: 'skip', label: text('campaign.segments.otherwise.skip', 'Do not send to them') },
  ];

  return (
    <FormSection title={text('campaign.section.segments', 'Segment routing')}>
      <FormCell wide>
        <ToggleField
          name="segmentEnabled"
          label={text('campaign.segments.enabled', 'Split the audience by a subscriber attribute')}
          hint={text(
            'campaign.segments.enabled.hint',
            'Each value’s recipients go through their own server group, e.g. region eu through the EU servers.'
          )}
          checked={values.segmentEnabled}
          onChange={(checked) => onChange('segmentEnabled', checked)}
          disabled={disabled}
        />
      </FormCell>
      {values.segmentEnabled && (
        <>
          <FormCell>
            <TextField
              name="segmentRouting.attribute"
              label={text('campaign.segments.attribute', 'Attribute')}
              hint={text('campaign.segments.attribute.hint', 'A key of the subscribers’ attributes, e.g. region or tier.')}
              required
              value={values.segmentAttribute}
              onChange={(value) => onChange('segmentAttribute', value)}
              error={errors['segmentRouting.attribute']}
              disabled={disabled}
            />
          </FormCell>
          <FormCell>
            <SelectField
              name="segmentRouting.otherwise"
              label={text('campaign.segments.otherwise', 'Everyone else')}
              hint={text('campaign.segments.otherwise.hint', 'Recipients without the attribute, or with a value no row names.')}
              options={otherwiseOptions}
              value={values.segmentOtherwise}
              onChange={(value) => onChange('segmentOtherwise', value as SegmentOtherwise)}
              error={errors['segmentRouting.otherwise']}
              disabled={disabled}
            />
          </FormCell>
          <FormCell wide>
            <Flex direction="column" alignItems="stretch" gap={3}>
              <Typography variant="sigma" textColor="neutral600">
                {text('campaign.segments.routes', 'Values and their groups (compared case-insensitively)')}
              </Typography>
              {routes.map((route, index) => (
                <Flex key={index} gap={3} alignItems="flex-start" data-testid="segment-route">
                  <Flex grow={1} direction="column" alignItems="stretch">
                    <TextField
                      name={`segmentRouting.routes.${index}.value`}
                      label={text('campaign.segments.value', 'Value {n}', { n: index + 1 })}
                      required
                      value={route.value}
                      onChange={(value) => setRoute(index, { value })}
                      error={errorForField(errors, `segmentRouting.routes.${index}.value`)}
                      disabled={disabled}
                    />
                  </Flex>
                  <Flex grow={1} direction="column" alignItems="stretch">
                    <SelectField
                      name={`segmentRouting.routes.${index}.group`}
                      label={text('campaign.segments.group', 'Group {n}', { n: index + 1 })}
                      required
                      placeholder={text('campaign.segments.group.placeholder', 'Choose a group')}
                      options={groupOptions}
                      value={route.group}
                      onChange={(group) => setRoute(index, { group })}
                      error={errorForField(errors, `segmentRouting.routes.${index}.group`)}
                      disabled={disabled || !canListGroups}
                    />
                  </Flex>
                  <Flex paddingTop={6}>
                    <IconButton
                      type="button"
                      variant="tertiary"
                      label={text('campaign.segments.remove', 'Remove value {n}', { n: index + 1 })}
                      disabled={disabled || routes.length <= 1}
                      onClick={() => setRoutes(routes.filter((_, position) => position !== index))}
                    >
                      <Trash />
                    </IconButton>
                  </Flex>
                </Flex>
              ))}
              {errors['segmentRouting.routes'] && (
                <Typography variant="pi" textColor="danger600">
                  {errors['segmentRouting.routes']}
                </Typography>
              )}
              <Flex>
                <Button
                  type="button"
                  variant="secondary"
                  startIcon={<Plus />}
                  disabled={disabled || routes.length >= MAX_SEGMENT_ROUTES}
                  onClick={() => setRoutes([...routes, { value: '', group: '' }])}
                >
                  {text('campaign.segments.add', 'Add a value')}
                </Button>
              </Flex>
            </Flex>
          </FormCell>
        </>
      )}
    </FormSection>
  );
}
