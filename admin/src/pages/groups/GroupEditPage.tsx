import * as React from 'react';

import { Flex } from '@strapi/design-system';
import { Page } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';
import { useParams } from 'react-router-dom';

import {
  GROUP_STRATEGIES,
  ROTATION_MODES,
  createGroupSchema,
  updateGroupSchema,
  type GroupStrategy,
  type RotationMode,
  type SmtpGroup,
} from '../../../../shared/contracts/groups';
import { errorForField, toApiError } from '../../api/errors';
import { useAllGroups, useDeleteGroup, useGroup, useSaveGroup, useStatus } from '../../api/queries';
import { EditPageLayout } from '../../components/EditPageLayout';
import { NumberField, SelectField, TextareaField, TextField, ToggleField, type SelectOption } from '../../components/form/fields';
import { FormCell, FormSection } from '../../components/form/FormSection';
import { useEditorActions } from '../../hooks/useEditorActions';
import { useLabels } from '../../hooks/useLabels';
import { usePluginPermissions } from '../../hooks/usePluginPermissions';
import { getTranslation } from '../../utils/getTranslation';
import { paths } from '../../utils/paths';
import { validateWith } from '../../utils/validate';
import { GroupLiveStatus } from './GroupLiveStatus';
import { GroupMembersTable } from './GroupMembersTable';
import { NO_FALLBACK, slugify, toFormValues, toGroupInput, type GroupFormValues } from './groupFormValues';

/** Create (`groups/new`) or edit (`groups/:id`) one server group. */
export function GroupEditPage() {
  const { id } = useParams<{ id: string }>();
  const { formatMessage } = useIntl();
  const permissions = usePluginPermissions();
  const group = useGroup(id);
  const allGroups = useAllGroups();

  if (permissions.isLoading || (id && group.isPending) || allGroups.isPending) {
    return <Page.Loading />;
  }
  if (id && group.isError) {
    const info = toApiError(group.error);
    return (
      <Page.Error
        content={
          info.status === 404
            ? formatMessage({ id: getTranslation('group.notFound'), defaultMessage: 'This group does not exist any more.' })
            : info.message
        }
      />
    );
  }

  const savedGroup = group.data?.data;
  return (
    <GroupEditor
      key={savedGroup ? `${savedGroup.documentId}:${savedGroup.updatedAt}` : 'new'}
      group={savedGroup}
      otherGroups={(allGroups.data?.data ?? []).filter((other) => other.documentId !== savedGroup?.documentId)}
      canManage={permissions.canManage}
    />
  );
}

interface GroupEditorProps {
  group?: SmtpGroup;
  /** Candidates for the fallback group. */
  otherGroups: SmtpGroup[];
  canManage: boolean;
}

function GroupEditor({ group, otherGroups, canManage }: GroupEditorProps) {
  const { formatMessage } = useIntl();
  const { saveRecord, deleteRecord } = useEditorActions();
  const labels = useLabels();
  const [values, setValues] = React.useState(() => toFormValues(group));
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  // A new group's slug follows its name until the admin types a slug of their own.
  const [slugEdited, setSlugEdited] = React.useState(Boolean(group));
  const save = useSaveGroup(group?.documentId);
  const deleteGroup = useDeleteGroup();
  // The live queue and the members' health; a new group has neither yet.
  const status = useStatus({ enabled: Boolean(group) });
  const readOnly = !canManage;

  const changeValue = <K extends keyof GroupFormValues>(key: K, value: GroupFormValues[K]) => {
    setValues((previous) => ({ ...previous, [key]: value }));
    setErrors(({ [key]: _cleared, ...others }) => others);
  };

  const changeName = (name: string) => {
    changeValue('name', name);
    if (!slugEdited) {
      changeValue('slug', slugify(name));
    }
  };

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!canManage) {
      return;
    }

    const input = toGroupInput(values);
    await saveRecord({
      problems: validateWith(group ? updateGroupSchema : createGroupSchema, input),
      setErrors,
      save: () => save.mutateAsync(input),
      savedMessage: formatMessage({ id: getTranslation('group.saved'), defaultMessage: 'Group saved' }),
      createdPath: group ? undefined : (saved) => paths.group(saved.data.documentId),
    });
  };

  const confirmDelete = async () => {
    if (!group) {
      return;
    }
    await deleteRecord({
      remove: () => deleteGroup.mutateAsync(group.documentId),
      deletedMessage: formatMessage({ id: getTranslation('group.deleted'), defaultMessage: 'Group deleted' }),
      listPath: paths.groups,
    });
  };

  const strategyOptions: SelectOption[] = GROUP_STRATEGIES.map((strategy) => ({
    value: strategy,
    label: labels.strategy(strategy),
  }));
  const rotationLabels: Record<RotationMode, string> = {
    message: formatMessage({ id: getTranslation('group.rotation.message'), defaultMessage: 'Per message' }),
    batch: formatMessage({ id: getTranslation('group.rotation.batch'), defaultMessage: 'Per batch' }),
    'sticky-domain': formatMessage({ id: getTranslation('group.rotation.sticky-domain'), defaultMessage: 'Sticky per recipient domain' }),
  };
  const rotationOptions: SelectOption[] = ROTATION_MODES.map((rotation) => ({ value: rotation, label: rotationLabels[rotation] }));
  const fallbackOptions: SelectOption[] = [
    { value: NO_FALLBACK, label: formatMessage({ id: getTranslation('group.field.fallbackGroup.none'), defaultMessage: 'No fallback group' }) },
    ...otherGroups.map((other) => ({ value: other.documentId, label: other.name })),
  ];
  // The select only lists the first page of groups; keep the current fallback choosable anyway.
  const currentFallback = group?.fallbackGroup;
  if (currentFallback && !fallbackOptions.some((option) => option.value === currentFallback.documentId)) {
    fallbackOptions.push({ value: currentFallback.documentId, label: currentFallback.name });
  }

  const title = group?.name ?? formatMessage({ id: getTranslation('group.new.title'), defaultMessage: 'New group' });

  return (
    <EditPageLayout
      title={title}
      subtitle={group?.slug}
      backTo={paths.groups}
      onSubmit={submit}
      deletion={
        group && canManage
          ? {
              confirmText: formatMessage(
                {
                  id: getTranslation('group.delete.confirm'),
                  defaultMessage: 'Delete the group “{name}”? A group that still holds servers, is another group’s fallback or is a routing rule’s target cannot be deleted: change those first.',
                },
                { name: group.name },
              ),
              onConfirm: confirmDelete,
              loading: deleteGroup.isPending,
            }
          : undefined
      }
      canSave={canManage}
      saving={save.isPending}
    >
      <Flex direction="column" alignItems="stretch" gap={6}>
        {group && (
          <GroupLiveStatus
            groupDocumentId={group.documentId}
            status={status.data}
            error={status.isError ? status.error : undefined}
          />
        )}
        <FormSection title={formatMessage({ id: getTranslation('group.section.settings'), defaultMessage: 'Settings' })}>
          <FormCell>
            <TextField
              name="name"
              label={formatMessage({ id: getTranslation('group.field.name'), defaultMessage: 'Name' })}
              required
              value={values.name}
              onChange={changeName}
              error={errorForField(errors, 'name')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <TextField
              name="slug"
              label={formatMessage({ id: getTranslation('group.field.slug'), defaultMessage: 'Slug' })}
              hint={formatMessage({
                id: getTranslation('group.field.slug.hint'),
                defaultMessage: 'How code picks this group, e.g. eu-marketing. Lowercase letters, digits and dashes.',
              })}
              required
              value={values.slug}
              onChange={(slug) => {
                setSlugEdited(true);
                changeValue('slug', slug);
              }}
              error={errorForField(errors, 'slug')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <SelectField
              name="strategy"
              label={formatMessage({ id: getTranslation('group.field.strategy'), defaultMessage: 'Strategy' })}
              hint={formatMessage({
                id: getTranslation('group.field.strategy.hint'),
                defaultMessage:
                  'Weighted: by each server’s weight. Round robin: each server in turn. Priority: the servers with the lowest priority number first (shared by weight), the next number only when none of them can send, like MX records. Adaptive: favours healthy, fast servers.',
              })}
              options={strategyOptions}
              value={values.strategy}
              onChange={(strategy) => changeValue('strategy', strategy as GroupStrategy)}
              error={errorForField(errors, 'strategy')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <SelectField
              name="rotation"
              label={formatMessage({ id: getTranslation('group.field.rotation'), defaultMessage: 'Rotation' })}
              hint={formatMessage({
                id: getTranslation('group.field.rotation.hint'),
                defaultMessage:
                  'Per message: each message is routed on its own. Per batch: all messages of a campaign batch or bulk send go through one server. Sticky: all mail to one recipient domain goes through one server for a while, so each provider sees a steady sender.',
              })}
              options={rotationOptions}
              value={values.rotation}
              onChange={(rotation) => changeValue('rotation', rotation as RotationMode)}
              error={errorForField(errors, 'rotation')}
              disabled={readOnly}
            />
          </FormCell>
          {values.rotation === 'sticky-domain' && (
            <FormCell>
              <NumberField
                name="stickyMinutes"
                label={formatMessage({ id: getTranslation('group.field.stickyMinutes'), defaultMessage: 'Sticky period (minutes)' })}
                hint={formatMessage({
                  id: getTranslation('group.field.stickyMinutes.hint'),
                  defaultMessage: 'How long a recipient domain keeps its server. While that server cannot send, mail goes to another without moving the domain.',
                })}
                value={values.stickyMinutes}
                onChange={(stickyMinutes) => changeValue('stickyMinutes', stickyMinutes)}
                error={errorForField(errors, 'stickyMinutes')}
                disabled={readOnly}
              />
            </FormCell>
          )}
          <FormCell>
            <SelectField
              name="fallbackGroup"
              label={formatMessage({ id: getTranslation('group.field.fallbackGroup'), defaultMessage: 'Fallback group' })}
              hint={formatMessage({
                id: getTranslation('group.field.fallbackGroup.hint'),
                defaultMessage: 'Used when none of this group’s servers can send.',
              })}
              options={fallbackOptions}
              value={values.fallbackGroup}
              onChange={(fallbackGroup) => changeValue('fallbackGroup', fallbackGroup)}
              error={errorForField(errors, 'fallbackGroup')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <ToggleField
              name="isDefault"
              label={formatMessage({ id: getTranslation('group.field.isDefault'), defaultMessage: 'Default group' })}
              hint={formatMessage({
                id: getTranslation('group.field.isDefault.hint'),
                defaultMessage: 'Messages that name no group go here. Only one group can be the default.',
              })}
              checked={values.isDefault}
              onChange={(isDefault) => changeValue('isDefault', isDefault)}
              error={errorForField(errors, 'isDefault')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell wide>
            <TextareaField
              name="description"
              label={formatMessage({ id: getTranslation('group.field.description'), defaultMessage: 'Description' })}
              value={values.description}
              onChange={(description) => changeValue('description', description)}
              error={errorForField(errors, 'description')}
              disabled={readOnly}
            />
          </FormCell>
        </FormSection>
        {group && <GroupMembersTable group={group} status={status.data} />}
      </Flex>
    </EditPageLayout>
  );
}
