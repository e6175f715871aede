import * as React from 'react';

import { Box, Field, Flex, MultiSelect, MultiSelectOption, Radio, Typography } from '@strapi/design-system';
import { useDebounce } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { AudienceInput } from '../../../../shared/contracts/audiences';
import { useAllMailingLists, useAudienceCount, useAudienceSources } from '../../api/campaign-queries';
import { errorForField, toApiError } from '../../api/errors';
import { SelectField, TextareaField } from '../../components/form/fields';
import { FormCell, FormSection } from '../../components/form/FormSection';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import type { AudienceType, CampaignFormValues } from './campaignFormValues';

/** Wait this long after the last change before counting the recipients again. */
const COUNT_DELAY_MS = 400;

/** Examples in the filter boxes (code, not translated). */
const COLLECTION_FILTER_EXAMPLE = '{ "blocked": { "$eq": false } }';
const LIST_FILTER_EXAMPLE = '[{ "attribute": "city", "operator": "eq", "value": "Paris" }]';

/** The select value for "the first email attribute" / "no name attribute". */
const AUTO = 'auto';

interface AudiencePickerProps {
  values: CampaignFormValues;
  onChange: <K extends keyof CampaignFormValues>(key: K, value: CampaignFormValues[K]) => void;
  /** The audience the form describes now (null while incomplete). */
  audience: AudienceInput | null;
  errors: Record<string, string>;
  disabled: boolean;
}

/**
 * Who gets the campaign: subscribers of mailing lists (with optional attribute filters), or the
 * entries of a collection type that has an email attribute (with Strapi filters), and how many
 * recipients that makes right now.
 */
export function AudiencePicker({ values, onChange, audience, errors, disabled }: AudiencePickerProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const lists = useAllMailingLists();
  const sources = useAudienceSources({ enabled: values.audienceType === 'collection' });
  const source = sources.data?.data.find((candidate) => candidate.uid === values.collectionUid);

  return (
    <FormSection title={text('campaign.section.audience', 'Audience')}>
      <FormCell wide>
        <Field.Root name="audienceType">
          <Field.Label>{text('campaign.audience.type', 'Send to')}</Field.Label>
          <Radio.Group
            value={values.audienceType}
            disabled={disabled}
            onValueChange={(type: string) => onChange('audienceType', type as AudienceType)}
            aria-label={text('campaign.audience.type', 'Send to')}
          >
            <Radio.Item value="lists">{text('campaign.audience.type.lists', 'Subscribers of mailing lists')}</Radio.Item>
            <Radio.Item value="collection">
              {text('campaign.audience.type.collection', 'Entries of a collection type (e.g. users)')}
            </Radio.Item>
          </Radio.Group>
        </Field.Root>
      </FormCell>
      {values.audienceType === 'lists' ? (
        <>
          <FormCell>
            <Field.Root
              name="lists"
              error={errorForField(errors, 'lists')}
              hint={text('campaign.audience.lists.hint', 'Subscribed members of any of these lists, once each.')}
            >
              <Field.Label>{text('campaign.audience.lists', 'Mailing lists')}</Field.Label>
              <MultiSelect
                value={values.lists}
                disabled={disabled}
                withTags
                placeholder={text('campaign.audience.lists.placeholder', 'Choose lists')}
                onChange={(chosen: string[]) => onChange('lists', chosen)}
                onClear={() => onChange('lists', [])}
              >
                {(lists.data?.data ?? []).map((list) => (
                  <MultiSelectOption key={list.documentId} value={list.documentId}>
                    {`${list.name} (${list.subscribedCount})`}
                  </MultiSelectOption>
                ))}
              </MultiSelect>
              <Field.Hint />
              <Field.Error />
            </Field.Root>
          </FormCell>
          <FormCell>
            <TextareaField
              name="listFilters"
              label={text('campaign.audience.listFilters', 'Attribute filters (JSON)')}
              hint={text(
                'campaign.audience.listFilters.hint',
                'Optional; all must match. Operators: eq, ne, contains, exists, gt, lt.',
              )}
              placeholder={LIST_FILTER_EXAMPLE}
              value={values.listFilters}
              onChange={(value) => onChange('listFilters', value)}
              error={errorForField(errors, 'listFilters')}
              disabled={disabled}
            />
          </FormCell>
        </>
      ) : (
        <>
          <FormCell>
            <SelectField
              name="collectionUid"
              label={text('campaign.audience.collection', 'Collection type')}
              placeholder={
                sources.isPending
                  ? text('loading', 'Loading…')
                  : text('campaign.audience.collection.placeholder', 'Choose a collection type')
              }
              options={(sources.data?.data ?? []).map((candidate) => ({
                value: candidate.uid,
                label: `${candidate.displayName} (${candidate.uid})`,
              }))}
              hint={
                sources.data?.data.length === 0
                  ? text('campaign.audience.collection.none', 'No collection type of this app has an email attribute.')
                  : undefined
              }
              value={values.collectionUid}
              onChange={(uid) => {
                onChange('collectionUid', uid);
                onChange('emailField', '');
                onChange('nameField', '');
              }}
              error={errorForField(errors, 'collectionUid') ?? (sources.isError ? toApiError(sources.error).message : undefined)}
              disabled={disabled || sources.data?.data.length === 0}
            />
          </FormCell>
          <FormCell>
            <Flex gap={4} alignItems="flex-start">
              <Box flex="1">
                <SelectField
                  name="emailField"
                  label={text('campaign.audience.emailField', 'Email attribute')}
                  options={[
                    { value: AUTO, label: text('campaign.audience.emailField.auto', 'The first email attribute') },
                    ...(source?.emailFields ?? []).map((name) => ({ value: name, label: name })),
                  ]}
                  value={values.emailField || AUTO}
                  onChange={(name) => onChange('emailField', name === AUTO ? '' : name)}
                  error={errorForField(errors, 'emailField')}
                  disabled={disabled || !source}
                />
              </Box>
              <Box flex="1">
                <SelectField
                  name="nameField"
                  label={text('campaign.audience.nameField', 'Name attribute')}
                  options={[
                    { value: AUTO, label: text('campaign.audience.nameField.auto', 'username or name, if any') },
                    ...(source?.attributes ?? []).map((name) => ({ value: name, label: name })),
                  ]}
                  value={values.nameField || AUTO}
                  onChange={(name) => onChange('nameField', name === AUTO ? '' : name)}
                  error={errorForField(errors, 'nameField')}
                  disabled={disabled || !source}
                />
              </Box>
            </Flex>
          </FormCell>
          <FormCell wide>
            <TextareaField
              name="collectionFilters"
              label={text('campaign.audience.collectionFilters', 'Filters (JSON)')}
              hint={formatMessage(
                {
                  id: getTranslation('campaign.audience.collectionFilters.hint'),
                  defaultMessage: 'Optional Strapi filters on the entries, e.g. {example}.',
                },
                { example: COLLECTION_FILTER_EXAMPLE },
              )}
              placeholder={COLLECTION_FILTER_EXAMPLE}
              value={values.collectionFilters}
              onChange={(value) => onChange('collectionFilters', value)}
              error={errorForField(errors, 'collectionFilters')}
              disabled={disabled}
            />
          </FormCell>
        </>
      )}
      <FormCell wide>
        <AudienceCountLine audience={audience} error={errors.audience} />
      </FormCell>
    </FormSection>
  );
}

/** "1,204 recipients (1,250 matched, 46 skipped)", counted again a moment after each change. */
function AudienceCountLine({ audience, error }: { audience: AudienceInput | null; error?: string }) {
  const { formatMessage, formatNumber } = useIntl();
  const debounced = useDebounce(audience, COUNT_DELAY_MS);
  // Counting reads any collection type's rows: the server asks for campaigns.manage.
  const { campaignsManage } = usePluginPermissions();
  const count = useAudienceCount(campaignsManage ? debounced : null);
  const result = count.data?.data;

  let line: React.ReactNode;
  let colour = 'neutral800';
  if (error) {
    line = error;
    colour = 'danger600';
  } else if (!campaignsManage) {
    line = formatMessage({
      id: getTranslation('campaign.audience.count.notAllowed'),
      defaultMessage: 'Counting the audience needs the right to write campaigns.',
    });
    colour = 'neutral600';
  } else if (!debounced) {
    line = formatMessage({
      id: getTranslation('campaign.audience.count.incomplete'),
      defaultMessage: 'Choose who gets the campaign to see how many recipients it has.',
    });
    colour = 'neutral600';
  } else if (count.isError) {
    line = toApiError(count.error).message;
    colour = 'danger600';
  } else if (!result) {
    line = formatMessage({ id: getTranslation('campaign.audience.count.counting'), defaultMessage: 'Counting…' });
    colour = 'neutral600';
  } else {
    line = formatMessage(
      {
        id: getTranslation('campaign.audience.count'),
        defaultMessage:
          '{recipients, plural, =0 {No recipient} one {# recipient} other {# recipients}} ({matched} matched, {skipped} skipped: suppressed, unsubscribed, invalid or duplicate)',
      },
      { recipients: result.recipients, matched: formatNumber(result.matched), skipped: formatNumber(result.skipped) },
    );
  }

  return (
    <Typography
      role="status"
      aria-live="polite"
      data-testid="audience-count"
      fontWeight={result && !error ? 'bold' : undefined}
      textColor={colour}
    >
      {line}
    </Typography>
  );
}
