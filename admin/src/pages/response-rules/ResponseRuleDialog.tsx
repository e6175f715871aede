import * as React from 'react';

import { Flex } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import {
  responseRuleSchema,
  type CustomResponseRule,
  type ResponseRuleAction,
  type ResponseRuleInput,
} from '../../../../shared/contracts/response-rules';
import { errorForField } from '../../api/errors';
import { useDeleteResponseRule, useSaveResponseRule } from '../../api/response-rules';
import { NumberField, SelectField, TextField, ToggleField } from '../../components/form/fields';
import { RecordDialog } from '../../components/RecordDialog';
import { useDialogActions } from '../../hooks/useDialogActions';
import { getTranslation } from '../../utils/getTranslation';

interface ResponseRuleDialogProps {
  /** null: a new rule. */
  rule: CustomResponseRule | null;
  canManage: boolean;
  onClose: () => void;
}

/** Adds or edits a custom response rule (read-only without response-rules.manage). */
export function ResponseRuleDialog({ rule, canManage, onClose }: ResponseRuleDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const save = useSaveResponseRule();
  const remove = useDeleteResponseRule();
  const { errors, setErrors, submit, confirmDelete } = useDialogActions(onClose);
  const [pattern, setPattern] = React.useState(rule?.pattern ?? '');
  const [description, setDescription] = React.useState(rule?.description ?? '');
  const [action, setAction] = React.useState<ResponseRuleAction>(rule?.action ?? 'suspend');
  const [durationSec, setDurationSec] = React.useState<number | undefined>(rule?.durationSec ?? 900);
  const [ratePerSecond, setRatePerSecond] = React.useState<number | undefined>(rule?.ratePerSecond ?? undefined);
  const [thresholdCount, setThresholdCount] = React.useState<number | undefined>(rule?.thresholdCount ?? undefined);
  const [thresholdWindowSec, setThresholdWindowSec] = React.useState<number | undefined>(
    rule?.thresholdWindowSec ?? undefined
  );
  const [enabled, setEnabled] = React.useState(rule?.enabled ?? true);
  const edited =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setErrors({});
    };

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) => {
    const input: ResponseRuleInput = {
      pattern,
      description,
      action,
      durationSec: durationSec as number,
      ratePerSecond: action === 'throttle' ? (ratePerSecond ?? null) : null,
      thresholdCount: thresholdCount ?? null,
      thresholdWindowSec: thresholdWindowSec ?? null,
      enabled,
    };
    return submit(event, {
      schema: responseRuleSchema,
      input,
      save: () => save.mutateAsync({ documentId: rule?.documentId ?? null, input }),
      savedMessage: text('responseRule.saved', 'Response rule saved: it applies on every node within a few seconds'),
    });
  };

  return (
    <RecordDialog
      title={
        rule
          ? text('responseRule.edit.title', 'Edit response rule')
          : text('responseRule.new.title', 'Add a response rule')
      }
      onClose={onClose}
      onSubmit={onSubmit}
      canManage={canManage}
      saving={save.isPending}
      deletion={
        rule
          ? {
              confirmText: text(
                'responseRule.delete.confirm',
                'Delete this rule? Replies matching it will no longer act on servers.'
              ),
              onConfirm: () =>
                confirmDelete(
                  () => remove.mutateAsync(rule.documentId),
                  text('responseRule.deleted', 'Response rule deleted')
                ),
              loading: remove.isPending,
            }
          : undefined
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField
          name="pattern"
          label={text('responseRule.field.pattern', 'Pattern')}
          hint={text(
            'responseRule.field.pattern.hint',
            'A regular expression matched, case-insensitively, against the whole SMTP reply, e.g. 4\\.7\\.1 .*slow down. Nested repetition such as (a+)+ is refused.'
          )}
          required
          disabled={!canManage}
          value={pattern}
          onChange={edited(setPattern)}
          error={errorForField(errors, 'pattern')}
        />
        <TextField
          name="description"
          label={text('responseRule.field.description', 'Description')}
          hint={text(
            'responseRule.field.description.hint',
            'What the reply means; it starts the reason shown on the server.'
          )}
          required
          disabled={!canManage}
          value={description}
          onChange={edited(setDescription)}
          error={errorForField(errors, 'description')}
        />
        <SelectField
          name="action"
          label={text('responseRule.field.action', 'Action')}
          disabled={!canManage}
          value={action}
          onChange={(value) => edited(setAction)(value as ResponseRuleAction)}
          options={[
            { value: 'suspend', label: text('responseRule.action.suspend', 'Suspend the server') },
            { value: 'throttle', label: text('responseRule.action.throttle', 'Throttle the server to a rate') },
          ]}
          error={errorForField(errors, 'action')}
        />
        {action === 'throttle' && (
          <NumberField
            name="ratePerSecond"
            label={text('responseRule.field.ratePerSecond', 'Messages per second')}
            hint={text(
              'responseRule.field.ratePerSecond.hint',
              'The most the server sends per second while throttled (0.5 = one every 2 s).'
            )}
            required
            step={0.1}
            disabled={!canManage}
            value={ratePerSecond}
            onChange={edited(setRatePerSecond)}
            error={errorForField(errors, 'ratePerSecond')}
          />
        )}
        <NumberField
          name="durationSec"
          label={text('responseRule.field.durationSec', 'Duration (seconds)')}
          hint={text(
            'responseRule.field.durationSec.hint',
            'How long the suspension or throttle lasts: 1 second to 7 days.'
          )}
          required
          disabled={!canManage}
          value={durationSec}
          onChange={edited(setDurationSec)}
          error={errorForField(errors, 'durationSec')}
        />
        <NumberField
          name="thresholdCount"
          label={text('responseRule.field.thresholdCount', 'Act on the Nth match (optional)')}
          hint={text(
            'responseRule.field.thresholdCount.hint',
            'Leave empty to act on the first match; with a window, acts on this many matches within it.'
          )}
          disabled={!canManage}
          value={thresholdCount}
          onChange={edited(setThresholdCount)}
          error={errorForField(errors, 'thresholdCount')}
        />
        <NumberField
          name="thresholdWindowSec"
          label={text('responseRule.field.thresholdWindowSec', 'Within (seconds)')}
          disabled={!canManage}
          value={thresholdWindowSec}
          onChange={edited(setThresholdWindowSec)}
          error={errorForField(errors, 'thresholdWindowSec')}
        />
        <ToggleField
          name="enabled"
          label={text('responseRule.field.enabled', 'Enabled')}
          disabled={!canManage}
          checked={enabled}
          onChange={edited(setEnabled)}
          error={errorForField(errors, 'enabled')}
        />
      </Flex>
    </RecordDialog>
  );
}
