import * as React from 'react';

import { Button, Flex } from '@strapi/design-system';
import { useIntl } from 'react-intl';

import { createRoutingRuleSchema, type RoutingRule } from '../../../../shared/contracts/routing-rules';
import { errorForField } from '../../api/errors';
import { useAllGroups, useAllServers } from '../../api/queries';
import { useRoutingRuleMutation, useRoutingRulesApi } from '../../api/routing-rules';
import { DeleteButton } from '../../components/DeleteButton';
import { SelectField, TextField, ToggleField } from '../../components/form/fields';
import { ModalDialog } from '../../components/ModalDialog';
import { useDialogActions } from '../../hooks/useDialogActions';
import { getTranslation } from '../../utils/getTranslation';
import { emptyRuleForm, formToInput, ruleToForm, type RuleFormValues } from './ruleForm';

interface RoutingRuleDialogProps {
  /** null: a new rule (it goes last). */
  rule: RoutingRule | null;
  canManage: boolean;
  onClose: () => void;
}

/** Creates or edits a routing rule: name, on/off, target, and the conditions (comma-separated lists). */
export function RoutingRuleDialog({ rule, canManage, onClose }: RoutingRuleDialogProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const api = useRoutingRulesApi();
  const save = useRoutingRuleMutation((values: RuleFormValues) =>
    rule ? api.update(rule.documentId, formToInput(values)) : api.create(formToInput(values))
  );
  const remove = useRoutingRuleMutation((documentId: string) => api.remove(documentId));
  const groups = useAllGroups();
  const servers = useAllServers();
  const { errors, setErrors, submit, confirmDelete } = useDialogActions(onClose);
  const [values, setValues] = React.useState<RuleFormValues>(() => (rule ? ruleToForm(rule) : emptyRuleForm()));
  const set =
    <K extends keyof RuleFormValues>(key: K) =>
    (value: RuleFormValues[K]) => {
      setValues((current) => ({ ...current, [key]: value }));
      setErrors({});
    };

  const targets =
    values.targetKind === 'group'
      ? (groups.data?.data ?? []).map((group) => ({ value: group.documentId, label: `${group.name} (${group.slug})` }))
      : (servers.data?.data ?? []).map((server) => ({ value: server.documentId, label: server.name }));

  const onSubmit = (event: React.FormEvent<HTMLFormElement>) =>
    submit(event, {
      schema: createRoutingRuleSchema,
      input: formToInput(values),
      save: () => save.mutateAsync(values),
      savedMessage: text('routingRule.saved', 'Routing rule saved: it applies to new mail within seconds'),
    });

  const listHint = text('routingRule.field.list.hint', 'Comma-separated; any one of them matches. Empty: no condition.');
  return (
    <ModalDialog
      title={rule ? rule.name : text('routingRule.new.title', 'Add a routing rule')}
      onClose={onClose}
      onSubmit={canManage ? onSubmit : undefined}
      actions={
        canManage && (
          <Flex gap={2}>
            {rule && (
              <DeleteButton
                confirmText={formatMessage(
                  { id: getTranslation('routingRule.delete.confirm'), defaultMessage: 'Delete the rule {name}? Its mail goes by the next rule that matches.' },
                  { name: rule.name }
                )}
                loading={remove.isPending}
                onConfirm={() => confirmDelete(() => remove.mutateAsync(rule.documentId), text('routingRule.deleted', 'Routing rule deleted'))}
              />
            )}
            <Button type="submit" loading={save.isPending}>
              {text('actions.save', 'Save')}
            </Button>
          </Flex>
        )
      }
    >
      <Flex direction="column" alignItems="stretch" gap={4}>
        <TextField name="name" label={text('routingRule.field.name', 'Name')} required value={values.name} onChange={set('name')} error={errorForField(errors, 'name')} disabled={!canManage} />
        <ToggleField name="enabled" label={text('routingRule.field.enabled', 'Enabled')} checked={values.enabled} onChange={set('enabled')} disabled={!canManage} />
        <SelectField
          name="targetKind"
          label={text('routingRule.field.targetKind', 'Send to')}
          value={values.targetKind}
          onChange={(value) => setValues((current) => ({ ...current, targetKind: value as 'group' | 'server', targetId: '' }))}
          options={[
            { value: 'group', label: text('routingRule.target.group', 'A group') },
            { value: 'server', label: text('routingRule.target.server', 'A single server') },
          ]}
          disabled={!canManage}
        />
        <SelectField
          name="target.id"
          label={values.targetKind === 'group' ? text('routingRule.field.group', 'Group') : text('routingRule.field.server', 'Server')}
          required
          value={values.targetId}
          onChange={set('targetId')}
          options={targets}
          error={errorForField(errors, 'target')}
          disabled={!canManage}
        />
        <TextField
          name="conditions.tags"
          label={text('routingRule.field.tags', 'Message type or tag')}
          hint={text('routingRule.field.tags.hint', 'transactional, marketing (campaign mail), or tags given when sending. Comma-separated.')}
          placeholder="marketing, newsletter"
          value={values.tags}
          onChange={set('tags')}
          error={errorForField(errors, 'conditions.tags')}
          disabled={!canManage}
        />
        <TextField
          name="conditions.senders"
          label={text('routingRule.field.senders', 'Sender address or domain')}
          hint={listHint}
          placeholder="news@example.com, example.com, *.example.com"
          value={values.senders}
          onChange={set('senders')}
          error={errorForField(errors, 'conditions.senders')}
          disabled={!canManage}
        />
        <TextField
          name="conditions.recipientDomains"
          label={text('routingRule.field.recipientDomains', 'Recipient domain')}
          hint={text('routingRule.field.recipientDomains.hint', 'gmail.com, *.gmail.com, *.co.uk. A message to several domains matches only when every one of them does.')}
          placeholder="gmail.com, *.gmail.com"
          value={values.recipientDomains}
          onChange={set('recipientDomains')}
          error={errorForField(errors, 'conditions.recipientDomains')}
          disabled={!canManage}
        />
        <TextField
          name="conditions.campaigns"
          label={text('routingRule.field.campaigns', 'Campaign (documentId)')}
          hint={listHint}
          value={values.campaigns}
          onChange={set('campaigns')}
          error={errorForField(errors, 'conditions.campaigns')}
          disabled={!canManage}
        />
        <TextField
          name="conditions.segments"
          label={text('routingRule.field.segments', 'Audience segment')}
          hint={text('routingRule.field.segments.hint', 'attribute = value, comma-separated (campaign segments).')}
          placeholder="region = eu"
          value={values.segments}
          onChange={set('segments')}
          error={errorForField(errors, 'conditions.segments')}
          disabled={!canManage}
        />
      </Flex>
    </ModalDialog>
  );
}
