import * as React from 'react';

import { Box, Button, DateTimePicker, Field, Flex, Typography } from '@strapi/design-system';
import { Mail } from '@strapi/icons';
import { Page, useNotification } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useNavigate, useParams } from 'react-router-dom';

import {
  DELETABLE_CAMPAIGN_STATUSES,
  createCampaignSchema,
  updateCampaignSchema,
  type Campaign,
} from '../../../../shared/contracts/campaigns';
import { useCampaign, useDeleteCampaign, useSaveCampaign } from '../../api/campaign-queries';
import { errorForField, toApiError, type ApiErrorInfo } from '../../api/errors';
import { useAllGroups } from '../../api/queries';
import { DetailList } from '../../components/DetailList';
import { EditPageLayout } from '../../components/EditPageLayout';
import { SelectField, TextField } from '../../components/form/fields';
import { FormCell, FormSection } from '../../components/form/FormSection';
import { useEditorActions } from '../../hooks/useEditorActions';
import { useLabels } from '../../hooks/useLabels';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { validateWith } from '../../utils/validate';
import { AudiencePicker } from './AudiencePicker';
import { CampaignReportLink } from '../reports/CampaignReportLink';
import { CampaignActions } from './CampaignActions';
import { CampaignContent, useTemplateCheck } from './CampaignContent';
import { CampaignProgressView, CampaignStatusBadge } from './CampaignProgressView';
import {
  DEFAULT_GROUP,
  isDirty,
  toAudience,
  toCampaignInput,
  toFormErrors,
  toFormValues,
  toTemplateContent,
  type CampaignFormValues,
} from './campaignFormValues';
import { SegmentRoutingSection } from './SegmentRoutingSection';
import { TestSendDialog } from './TestSendDialog';

/** Create (`campaigns/new`) or edit (`campaigns/:id`) one campaign; follow it while it sends. */
export function CampaignEditPage() {
  const { id } = useParams<{ id: string }>();
  const { formatMessage } = useIntl();
  const permissions = usePluginPermissions();
  const campaign = useCampaign(id);

  if (permissions.isLoading || (id && campaign.isPending)) {
    return <Page.Loading />;
  }
  if (id && campaign.isError) {
    const info = toApiError(campaign.error);
    return (
      <Page.Error
        content={
          info.status === 404
            ? formatMessage({ id: getTranslation('campaign.notFound'), defaultMessage: 'This campaign does not exist any more.' })
            : info.message
        }
      />
    );
  }

  return (
    <CampaignEditor
      key={id ?? 'new'}
      campaign={campaign.data?.data}
      canManage={permissions.campaignsManage}
      canSend={permissions.campaignsSend}
      canReadServers={permissions.canRead}
    />
  );
}

interface CampaignEditorProps {
  /** The saved campaign, fetched again every 2 s while it sends; undefined for a new one. */
  campaign?: Campaign;
  canManage: boolean;
  canSend: boolean;
  /** May list groups and servers (the group select and the test dialog's server choice). */
  canReadServers: boolean;
}

/**
 * The form reloads from the campaign when it is saved (a new updatedAt) or stops being editable,
 * but not on every progress refresh, so typing and open dialogs are never lost.
 */
const formKeyOf = (campaign?: Campaign) =>
  !campaign ? 'new' : campaign.editable ? `${campaign.documentId}:${campaign.updatedAt}` : `${campaign.documentId}:locked`;

function CampaignEditor({ campaign, canManage, canSend, canReadServers }: CampaignEditorProps) {
  const { formatMessage } = useIntl();
  const navigate = useNavigate();
  const { toggleNotification } = useNotification();
  const { deleteRecord } = useEditorActions();
  const save = useSaveCampaign(campaign?.documentId);
  const deleteCampaign = useDeleteCampaign();
  const [values, setValues] = React.useState(() => toFormValues(campaign));
  const [loadedKey, setLoadedKey] = React.useState(() => formKeyOf(campaign));
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [testOpen, setTestOpen] = React.useState(false);
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });

  if (loadedKey !== formKeyOf(campaign)) {
    setLoadedKey(formKeyOf(campaign));
    setValues(toFormValues(campaign));
  }

  const editable = !campaign || campaign.editable;
  const readOnly = !canManage || !editable;
  const { audience, errors: audienceErrors } = toAudience(values);
  const templateCheck = useTemplateCheck(toTemplateContent(values));
  const dirty = isDirty(values, campaign);

  const changeValue = <K extends keyof CampaignFormValues>(key: K, value: CampaignFormValues[K]) => {
    setValues((previous) => ({ ...previous, [key]: value }));
    setErrors(({ [key]: _cleared, audience: _audience, ...others }) => {
      if (!key.startsWith('segment')) {
        return others;
      }
      // The API names segment errors by their path (segmentRouting.routes.0.group): an edit of the section clears them.
      return Object.fromEntries(Object.entries(others).filter(([field]) => !field.startsWith('segmentRouting'))) as Record<string, string>;
    });
  };

  const showApiError = (info: ApiErrorInfo) => {
    setErrors(toFormErrors(info.fieldErrors, values.audienceType));
    toggleNotification({ type: 'danger', message: info.message });
  };

  /** Saves the form; the saved campaign, or null when something needs fixing (shown in the form). */
  const persist = async (): Promise<Campaign | null> => {
    // Once it has started only the name may change (it is not part of what is sent).
    const input = editable ? toCampaignInput(values, audience) : { name: values.name };
    const problems = {
      ...toFormErrors(validateWith(campaign ? updateCampaignSchema : createCampaignSchema, input), values.audienceType),
      ...(editable ? audienceErrors : {}),
    };
    setErrors(problems);
    if (Object.keys(problems).length > 0) {
      toggleNotification({ type: 'warning', message: text('form.fixErrors', 'Some fields need a correction.') });
      return null;
    }
    try {
      return (await save.mutateAsync(input)).data;
    } catch (error) {
      showApiError(toApiError(error));
      return null;
    }
  };

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!canManage) {
      return;
    }
    const saved = await persist();
    if (saved) {
      toggleNotification({ type: 'success', message: text('campaign.saved', 'Campaign saved') });
      if (!campaign) {
        navigate(paths.campaign(saved.documentId), { replace: true });
      }
    }
  };

  /** Before a test send or start: unsaved edits are saved, so what goes out is what the editor shows. */
  const saveIfDirty = async () => !(editable && canManage && dirty) || (await persist()) !== null;

  const confirmDelete = async () => {
    if (campaign) {
      await deleteRecord({
        remove: () => deleteCampaign.mutateAsync(campaign.documentId),
        deletedMessage: text('campaign.deleted', 'Campaign deleted'),
        listPath: paths.campaigns,
      });
    }
  };

  const title = campaign?.name || text('campaign.new.title', 'New campaign');

  return (
    <EditPageLayout
      title={title}
      backTo={paths.campaigns}
      onSubmit={submit}
      actions={
        campaign && (
          <>
            <CampaignReportLink campaign={campaign} />
            {canSend && (
              <>
                <Button type="button" variant="secondary" startIcon={<Mail />} onClick={() => setTestOpen(true)}>
                  {text('campaign.testSend', 'Send test')}
                </Button>
                <CampaignActions
                  campaign={campaign}
                  scheduledAt={values.scheduledAt}
                  beforeStart={saveIfDirty}
                  onError={showApiError}
                />
              </>
            )}
          </>
        )
      }
      deletion={
        campaign && canManage && DELETABLE_CAMPAIGN_STATUSES.includes(campaign.status)
          ? {
              confirmText: formatMessage(
                { id: getTranslation('campaign.delete.confirm'), defaultMessage: 'Delete the campaign “{name}”?' },
                { name: campaign.name },
              ),
              onConfirm: confirmDelete,
              loading: deleteCampaign.isPending,
            }
          : undefined
      }
      canSave={canManage}
      saving={save.isPending}
      overlay={
        campaign &&
        testOpen && (
          <TestSendDialog
            campaignId={campaign.documentId}
            campaignName={campaign.name}
            canChooseServer={canReadServers}
            beforeSend={saveIfDirty}
            onClose={() => setTestOpen(false)}
          />
        )
      }
    >
      <Flex direction="column" alignItems="stretch" gap={6}>
        {campaign && <CampaignStatusPanel campaign={campaign} />}
        {campaign && !editable && (
          <Typography textColor="neutral600">
            {text('campaign.locked', 'This campaign has started: its content, audience and schedule can no longer change.')}
          </Typography>
        )}
        <FormSection title={text('campaign.section.message', 'Message')}>
          <FormCell>
            <TextField
              name="name"
              label={text('campaign.field.name', 'Name')}
              hint={text('campaign.field.name.hint', 'For you; recipients do not see it.')}
              required
              value={values.name}
              onChange={(value) => changeValue('name', value)}
              error={errorForField(errors, 'name')}
              disabled={!canManage}
            />
          </FormCell>
          <FormCell>
            <TextField
              name="fromName"
              label={text('campaign.field.fromName', 'From name')}
              value={values.fromName}
              onChange={(value) => changeValue('fromName', value)}
              error={errorForField(errors, 'fromName')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <TextField
              name="fromAddress"
              type="email"
              label={text('campaign.field.fromAddress', 'From address')}
              required
              value={values.fromAddress}
              onChange={(value) => changeValue('fromAddress', value)}
              error={errorForField(errors, 'fromAddress')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <TextField
              name="replyTo"
              type="email"
              label={text('campaign.field.replyTo', 'Reply-to address')}
              value={values.replyTo}
              onChange={(value) => changeValue('replyTo', value)}
              error={errorForField(errors, 'replyTo')}
              disabled={readOnly}
            />
          </FormCell>
        </FormSection>
        <CampaignContent
          campaignId={campaign?.documentId}
          values={values}
          onChange={changeValue}
          errors={errors}
          check={templateCheck}
          disabled={readOnly}
        />
        <AudiencePicker
          values={values}
          onChange={changeValue}
          audience={audience}
          errors={{ ...errors, ...audienceErrors }}
          disabled={readOnly}
        />
        <DeliverySection
          values={values}
          onChange={changeValue}
          errors={errors}
          disabled={readOnly}
          currentGroup={campaign?.group ?? null}
          canListGroups={canReadServers}
        />
        <SegmentRoutingSection values={values} onChange={changeValue} errors={errors} disabled={readOnly} canListGroups={canReadServers} />
      </Flex>
    </EditPageLayout>
  );
}

/** Status, live progress and times of a campaign that has left the draft stage. */
function CampaignStatusPanel({ campaign }: { campaign: Campaign }) {
  const { formatMessage } = useIntl();
  const labels = useLabels();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const time = (iso: string | null) => (iso ? labels.dateTime(Date.parse(iso)) : null);
  const started = campaign.status !== 'draft' && campaign.status !== 'scheduled';

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Flex gap={3} alignItems="center">
          <Typography variant="delta" tag="h2">
            {text('campaign.section.status', 'Status')}
          </Typography>
          <span data-testid="campaign-status">
            <CampaignStatusBadge status={campaign.status} />
          </span>
        </Flex>
        {started && <CampaignProgressView progress={campaign.progress} status={campaign.status} name={campaign.name} detailed />}
        <DetailList
          details={[
            { label: text('campaign.detail.scheduledAt', 'Scheduled for'), value: time(campaign.scheduledAt) },
            { label: text('campaign.detail.startedAt', 'Started'), value: time(campaign.startedAt) },
            { label: text('campaign.detail.completedAt', 'Finished'), value: time(campaign.completedAt) },
            { label: text('campaign.detail.lastError', 'Last error'), value: campaign.lastError },
          ]}
        />
      </Flex>
    </Box>
  );
}

interface DeliverySectionProps {
  values: CampaignFormValues;
  onChange: <K extends keyof CampaignFormValues>(key: K, value: CampaignFormValues[K]) => void;
  errors: Record<string, string>;
  disabled: boolean;
  currentGroup: Campaign['group'];
  canListGroups: boolean;
}

/** The server group the campaign goes through and when it is sent. */
function DeliverySection({ values, onChange, errors, disabled, currentGroup, canListGroups }: DeliverySectionProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const groups = useAllGroups({ enabled: canListGroups });
  const groupOptions = [
    { value: DEFAULT_GROUP, label: text('campaign.field.group.default', 'The default group') },
    ...(groups.data?.data ?? []).map((group) => ({ value: group.documentId, label: group.name })),
  ];
  // Admins who may not list groups still see the campaign's own.
  if (currentGroup && !groupOptions.some((option) => option.value === currentGroup.documentId)) {
    groupOptions.push({ value: currentGroup.documentId, label: currentGroup.name });
  }
  const scheduled = values.scheduledAt ? new Date(values.scheduledAt) : null;

  return (
    <FormSection title={text('campaign.section.delivery', 'Delivery')}>
      <FormCell>
        <SelectField
          name="group"
          label={text('campaign.field.group', 'Server group')}
          hint={text('campaign.field.group.hint', 'The servers that send it, with their quotas and failover.')}
          options={groupOptions}
          value={values.group}
          onChange={(group) => onChange('group', group)}
          error={errorForField(errors, 'group')}
          disabled={disabled || !canListGroups}
        />
      </FormCell>
      <FormCell>
        <Field.Root
          name="scheduledAt"
          error={errorForField(errors, 'scheduledAt')}
          hint={text('campaign.field.scheduledAt.hint', 'Empty: it goes out when you start it. In the future: “Schedule” sends it then.')}
        >
          <Field.Label>{text('campaign.field.scheduledAt', 'Send at')}</Field.Label>
          <DateTimePicker
            value={scheduled}
            disabled={disabled}
            clearLabel={text('campaign.field.scheduledAt.clear', 'Clear the schedule')}
            onClear={() => onChange('scheduledAt', '')}
            onChange={(date: Date | undefined) => onChange('scheduledAt', date ? date.toISOString() : '')}
          />
          <Field.Hint />
          <Field.Error />
        </Field.Root>
      </FormCell>
    </FormSection>
  );
}
