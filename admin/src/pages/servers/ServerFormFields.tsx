import { Flex, TextButton, Typography } from '@strapi/design-system';
import { useIntl } from 'react-intl';
import type { ComponentProps } from 'react';

import type { SmtpGroup } from '../../../../shared/contracts/groups';
import { SECURITY_MODES, type SecurityMode, type SmtpServer } from '../../../../shared/contracts/servers';
import { errorForField } from '../../api/errors';
import {
  NumberField,
  SelectField,
  TextareaField,
  TextField,
  ToggleField,
  type SelectOption,
} from '../../components/form/fields';
import { FormCell, FormSection } from '../../components/form/FormSection';
import { useLabels } from '../../hooks/useLabels';
import { getTranslation } from '../../utils/getTranslation';
import {
  DEFAULT_PORTS,
  IMAP_DEFAULT_PORTS,
  NO_GROUP,
  warmupStepsPreview,
  type ServerFormValues,
  type WarmupChoice,
} from './serverFormValues';

export interface ServerFormFieldsProps {
  values: ServerFormValues;
  /** Changes one field (and clears its error). */
  onChange: <K extends keyof ServerFormValues>(key: K, value: ServerFormValues[K]) => void;
  /** Client and server errors, keyed by field path. */
  errors: Record<string, string>;
  /** The saved server, when editing. */
  server?: SmtpServer;
  groups: SmtpGroup[];
  /** True when the admin may only look (no `servers.manage`). */
  readOnly: boolean;
}

/** Every field of a server, in sections. State lives in the page; this only renders it. */
export function ServerFormFields(props: ServerFormFieldsProps) {
  return (
    <Flex direction="column" alignItems="stretch" gap={6}>
      <ConnectionSection {...props} />
      <AuthenticationSection {...props} />
      <SenderSection {...props} />
      <RoutingSection {...props} />
      <DestinationLimitsSection {...props} />
      <WarmupSection {...props} />
      <BounceMailboxSection {...props} />
      <NotesSection {...props} />
    </Flex>
  );
}

/** Shortcut for the translated label of a field. */
function useText() {
  const { formatMessage } = useIntl();
  return (id: string, defaultMessage: string, values?: Record<string, string | number>) =>
    formatMessage({ id: getTranslation(id), defaultMessage }, values);
}

function ConnectionSection({ values, onChange, errors, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  const labels = useLabels();

  const securityOptions: SelectOption[] = SECURITY_MODES.map((mode) => ({ value: mode, label: labels.security(mode) }));

  // When the port is still the usual one of the old mode, follow the new mode (587 -> 465 for TLS).
  const changeSecurity = (security: SecurityMode) => {
    if (values.port === String(DEFAULT_PORTS[values.security])) {
      onChange('port', String(DEFAULT_PORTS[security]));
    }
    onChange('security', security);
  };

  return (
    <FormSection title={text('server.section.connection', 'Connection')}>
      <FormCell>
        <TextField
          name="name"
          label={text('server.field.name', 'Name')}
          hint={text('server.field.name.hint', 'Shown in lists and reports.')}
          required
          value={values.name}
          onChange={(value) => onChange('name', value)}
          error={errorForField(errors, 'name')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <ToggleField
          name="enabled"
          label={text('server.field.enabled', 'Enabled')}
          hint={text('server.field.enabled.hint', 'A disabled server sends nothing.')}
          checked={values.enabled}
          onChange={(checked) => onChange('enabled', checked)}
          error={errorForField(errors, 'enabled')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="host"
          label={text('server.field.host', 'Host')}
          placeholder="smtp.example.com"
          required
          value={values.host}
          onChange={(value) => onChange('host', value)}
          error={errorForField(errors, 'host')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="port"
          label={text('server.field.port', 'Port')}
          inputMode="numeric"
          required
          value={values.port}
          onChange={(value) => onChange('port', value)}
          error={errorForField(errors, 'port')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <SelectField
          name="security"
          label={text('server.field.security', 'Security')}
          hint={text(
            'server.field.security.hint',
            'STARTTLS upgrades a plain connection (usually port 587); TLS is encrypted from the start (usually port 465).',
          )}
          options={securityOptions}
          value={values.security}
          onChange={(value) => changeSecurity(value as SecurityMode)}
          error={errorForField(errors, 'security')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <ToggleField
          name="tlsRejectUnauthorized"
          label={text('server.field.tlsRejectUnauthorized', 'Verify certificate')}
          hint={text(
            'server.field.tlsRejectUnauthorized.hint',
            'Refuse servers whose TLS certificate is invalid or self-signed. Turn off only for test servers.',
          )}
          checked={values.tlsRejectUnauthorized}
          onChange={(checked) => onChange('tlsRejectUnauthorized', checked)}
          error={errorForField(errors, 'tlsRejectUnauthorized')}
          disabled={readOnly}
        />
      </FormCell>
    </FormSection>
  );
}

function AuthenticationSection({ values, onChange, errors, server, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  const hasSavedPassword = Boolean(server?.hasPassword);

  const passwordPlaceholder = values.removePassword
    ? text('server.field.password.removing', 'will be removed on save')
    : hasSavedPassword
      ? text('server.field.password.set', 'set — leave empty to keep')
      : text('server.field.password.notSet', 'not set');

  return (
    <FormSection title={text('server.section.authentication', 'Authentication')}>
      <FormCell>
        <TextField
          name="username"
          label={text('server.field.username', 'Username')}
          hint={text('server.field.username.hint', 'Leave empty if the server needs no login.')}
          autoComplete="off"
          value={values.username}
          onChange={(value) => onChange('username', value)}
          error={errorForField(errors, 'username')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="password"
          type="password"
          label={text('server.field.password', 'Password')}
          // "new-password" stops browsers from filling in the admin's own Strapi password.
          autoComplete="new-password"
          placeholder={passwordPlaceholder}
          hint={text('server.field.password.hint', 'Stored encrypted and never shown again.')}
          value={values.password}
          onChange={(value) => onChange('password', value)}
          error={errorForField(errors, 'password')}
          disabled={readOnly || values.removePassword}
        />
        {hasSavedPassword && !readOnly && (
          <RemovePasswordControl
            removing={values.removePassword}
            onToggle={(removing) => {
              onChange('removePassword', removing);
              if (removing) {
                onChange('password', '');
              }
            }}
          />
        )}
      </FormCell>
    </FormSection>
  );
}

/** "Remove password", or once chosen, a note and "Keep password" to undo. */
function RemovePasswordControl({ removing, onToggle }: { removing: boolean; onToggle: (removing: boolean) => void }) {
  const text = useText();
  return (
    <Flex gap={2} paddingTop={1}>
      {removing && (
        <Typography variant="pi" textColor="danger600">
          {text('server.password.willBeRemoved', 'The saved password will be removed when you save.')}
        </Typography>
      )}
      <TextButton type="button" onClick={() => onToggle(!removing)}>
        {removing
          ? text('server.password.keep', 'Keep password')
          : text('server.password.remove', 'Remove password')}
      </TextButton>
    </Flex>
  );
}

function SenderSection({ values, onChange, errors, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  return (
    <FormSection title={text('server.section.sender', 'Sender')}>
      <FormCell>
        <TextField
          name="fromAddress"
          type="email"
          label={text('server.field.fromAddress', 'From address')}
          placeholder="no-reply@example.com"
          hint={text('server.field.fromAddress.hint', 'Used when a message does not set its own sender.')}
          value={values.fromAddress}
          onChange={(value) => onChange('fromAddress', value)}
          error={errorForField(errors, 'fromAddress')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="fromName"
          label={text('server.field.fromName', 'From name')}
          placeholder="Example Inc."
          value={values.fromName}
          onChange={(value) => onChange('fromName', value)}
          error={errorForField(errors, 'fromName')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="allowedFromDomains"
          label={text('server.field.allowedFromDomains', 'Allowed From domains')}
          placeholder="example.com, *.example.com"
          hint={text(
            'server.field.allowedFromDomains.hint',
            'Mail From other domains never goes through this server. Comma-separated; *.example.com is for subdomains. Empty: any domain.'
          )}
          value={values.allowedFromDomains}
          onChange={(value) => onChange('allowedFromDomains', value)}
          error={errorForField(errors, 'allowedFromDomains')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <TextField
          name="localAddress"
          label={text('server.field.localAddress', 'Local address (source IP)')}
          placeholder="192.0.2.10"
          hint={text('server.field.localAddress.hint', 'The IP address of this host to connect from, when it has several. Empty: the system chooses.')}
          value={values.localAddress}
          onChange={(value) => onChange('localAddress', value)}
          error={errorForField(errors, 'localAddress')}
          disabled={readOnly}
        />
      </FormCell>
    </FormSection>
  );
}

function RoutingSection({ values, onChange, errors, server, groups, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  const unlimitedHint = text('server.field.limit.hint', 'Leave empty for unlimited.');

  const groupOptions: SelectOption[] = [
    { value: NO_GROUP, label: text('server.field.group.none', 'No group') },
    ...groups.map((group) => ({ value: group.documentId, label: group.name })),
  ];
  // The select only lists the first page of groups; keep the server's own group choosable anyway.
  if (server?.group && !groups.some((group) => group.documentId === server.group?.documentId)) {
    groupOptions.push({ value: server.group.documentId, label: server.group.name });
  }

  return (
    <FormSection title={text('server.section.routing', 'Routing and limits')}>
      <FormCell>
        <SelectField
          name="group"
          label={text('server.field.group', 'Group')}
          options={groupOptions}
          value={values.group}
          onChange={(value) => onChange('group', value)}
          error={errorForField(errors, 'group')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="maxConnections"
          label={text('server.field.maxConnections', 'Max connections')}
          hint={text('server.field.maxConnections.hint', 'Connections open at the same time (1 to 1000).')}
          required
          value={values.maxConnections}
          onChange={(value) => onChange('maxConnections', value)}
          error={errorForField(errors, 'maxConnections')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="weight"
          label={text('server.field.weight', 'Weight')}
          hint={text('server.field.weight.hint', 'Share of its group’s traffic, relative to the other servers (0 to 1000).')}
          required
          value={values.weight}
          onChange={(value) => onChange('weight', value)}
          error={errorForField(errors, 'weight')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="priority"
          label={text('server.field.priority', 'Priority')}
          hint={text(
            'server.field.priority.hint',
            'Lower is preferred, like MX records: with the priority strategy, a group sends through its lowest-numbered servers first (0 to 1000).',
          )}
          required
          value={values.priority}
          onChange={(value) => onChange('priority', value)}
          error={errorForField(errors, 'priority')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="ratePerSecond"
          label={text('server.field.ratePerSecond', 'Rate per second')}
          hint={unlimitedHint}
          step={0.1}
          value={values.ratePerSecond}
          onChange={(value) => onChange('ratePerSecond', value)}
          error={errorForField(errors, 'ratePerSecond')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="hourlyLimit"
          label={text('server.field.hourlyLimit', 'Hourly limit')}
          hint={unlimitedHint}
          value={values.hourlyLimit}
          onChange={(value) => onChange('hourlyLimit', value)}
          error={errorForField(errors, 'hourlyLimit')}
          disabled={readOnly}
        />
      </FormCell>
      <FormCell>
        <NumberField
          name="dailyLimit"
          label={text('server.field.dailyLimit', 'Daily limit')}
          hint={unlimitedHint}
          value={values.dailyLimit}
          onChange={(value) => onChange('dailyLimit', value)}
          error={errorForField(errors, 'dailyLimit')}
          disabled={readOnly}
        />
      </FormCell>
    </FormSection>
  );
}

function WarmupSection({ values, onChange, errors, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  const { formatNumber } = useIntl();

  const planOptions: SelectOption[] = [
    { value: 'none', label: text('server.warmup.none', 'No warm-up plan') },
    { value: 'standard', label: text('server.warmup.standard', 'Standard ramp') },
    { value: 'custom', label: text('server.warmup.custom', 'Custom ramp') },
  ];
  const preview = warmupStepsPreview(values)
    .filter((step) => Number.isFinite(step))
    .map((step) => formatNumber(step))
    .join(', ');

  return (
    <FormSection title={text('server.section.warmup', 'Warm-up')}>
      <FormCell>
        <SelectField
          name="warmup"
          label={text('server.field.warmup', 'Warm-up plan')}
          hint={text(
            'server.field.warmup.hint',
            'A new IP or domain builds its reputation by sending a little more each day.',
          )}
          options={planOptions}
          value={values.warmup}
          onChange={(value) => onChange('warmup', value as WarmupChoice)}
          // Only the plan's own error here; errors inside the plan show under their fields.
          error={errors.warmup}
          disabled={readOnly}
        />
      </FormCell>
      {values.warmup !== 'none' && (
        <>
          <FormCell>
            <ToggleField
              name="warmup.enabled"
              label={text('server.field.warmup.enabled', 'Apply the warm-up plan')}
              checked={values.warmupEnabled}
              onChange={(checked) => onChange('warmupEnabled', checked)}
              error={errorForField(errors, 'warmup.enabled')}
              disabled={readOnly}
            />
          </FormCell>
          <FormCell>
            <TextField
              name="warmup.startDate"
              type="date"
              label={text('server.field.warmup.startDate', 'Start date')}
              required
              value={values.warmupStartDate}
              onChange={(value) => onChange('warmupStartDate', value)}
              error={errorForField(errors, 'warmup.startDate')}
              disabled={readOnly}
            />
          </FormCell>
          {values.warmup === 'custom' && (
            <FormCell>
              <TextField
                name="warmup.customSteps"
                label={text('server.field.warmup.customSteps', 'Daily caps')}
                placeholder="50, 100, 250, 500"
                hint={text('server.field.warmup.customSteps.hint', 'Messages per day, day by day, separated by commas.')}
                required
                value={values.warmupCustomSteps}
                onChange={(value) => onChange('warmupCustomSteps', value)}
                error={errorForField(errors, 'warmup.customSteps')}
                disabled={readOnly}
              />
            </FormCell>
          )}
          <FormCell wide>
            <Typography variant="pi" textColor="neutral600">
              {values.warmup === 'standard'
                ? text(
                    'server.warmup.preview.standard',
                    'Daily caps from the start date: {steps}, then twice the day before until the daily limit is reached.',
                    { steps: preview },
                  )
                : text(
                    'server.warmup.preview.custom',
                    'Daily caps from the start date: {steps}. After the last day, only the daily limit applies.',
                    { steps: preview || '—' },
                  )}
            </Typography>
          </FormCell>
        </>
      )}
    </FormSection>
  );
}

/** The server's bounce mailbox: polled over IMAP for bounces and complaints (README: Bounce mailboxes). */
function BounceMailboxSection({ values, onChange, errors, server, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  const labels = useLabels();
  const securityOptions: SelectOption[] = SECURITY_MODES.map((mode) => ({ value: mode, label: labels.security(mode) }));
  const processedOptions: SelectOption[] = [
    { value: 'move', label: text('server.imap.processed.move', 'Move to a folder') },
    { value: 'flag', label: text('server.imap.processed.flag', 'Mark as read with a keyword') },
  ];
  const changeSecurity = (security: SecurityMode) => {
    if (values.imapPort === String(IMAP_DEFAULT_PORTS[values.imapSecurity])) onChange('imapPort', String(IMAP_DEFAULT_PORTS[security]));
    onChange('imapSecurity', security);
  };
  const passwordPlaceholder = server?.imap?.hasPassword
    ? text('server.field.password.set', 'set — leave empty to keep')
    : text('server.field.password.notSet', 'not set');

  /** One text input of the section: its value, its change and its error (under the API's path). */
  type TextKey = 'imapHost' | 'imapPort' | 'imapUsername' | 'imapPassword' | 'imapMailbox' | 'imapMoveTo' | 'imapFlag';
  const textCell = (key: TextKey, errorPath: string, label: string, extra: Partial<ComponentProps<typeof TextField>> = {}) => (
    <FormCell>
      <TextField
        name={errorPath}
        label={label}
        value={values[key]}
        onChange={(value) => onChange(key, value)}
        error={errorForField(errors, errorPath)}
        disabled={readOnly}
        {...extra}
      />
    </FormCell>
  );

  return (
    <FormSection title={text('server.section.imap', 'Bounce mailbox (IMAP)')}>
      <FormCell wide>
        <ToggleField
          name="imap.enabled"
          label={text('server.field.imap.enabled', 'Fetch bounces and complaints from a mailbox')}
          hint={text('server.field.imap.enabled.hint', 'Polled regularly; each bounce is linked to the message it is about.')}
          checked={values.imapEnabled}
          onChange={(checked) => onChange('imapEnabled', checked)}
          disabled={readOnly}
        />
      </FormCell>
      {values.imapEnabled && (
        <>
          {textCell('imapHost', 'imap.host', text('server.field.imap.host', 'IMAP host'), { placeholder: 'imap.example.com', required: true })}
          {textCell('imapPort', 'imap.port', text('server.field.imap.port', 'IMAP port'), { inputMode: 'numeric' })}
          <FormCell>
            <SelectField
              name="imap.security"
              label={text('server.field.imap.security', 'IMAP security')}
              options={securityOptions}
              value={values.imapSecurity}
              onChange={(value) => changeSecurity(value as SecurityMode)}
              error={errorForField(errors, 'imap.security')}
              disabled={readOnly}
            />
          </FormCell>
          {textCell('imapUsername', 'imap.username', text('server.field.imap.username', 'IMAP username'), { autoComplete: 'off', required: true })}
          {textCell('imapPassword', 'imap.password', text('server.field.imap.password', 'IMAP password'), {
            type: 'password',
            autoComplete: 'new-password',
            placeholder: passwordPlaceholder,
            hint: text('server.field.password.hint', 'Stored encrypted and never shown again.'),
          })}
          {textCell('imapMailbox', 'imap.mailbox', text('server.field.imap.mailbox', 'Folder'), { placeholder: 'INBOX' })}
          <FormCell>
            <SelectField
              name="imap.processed"
              label={text('server.field.imap.processed', 'Processed bounces')}
              hint={text('server.field.imap.processed.hint', 'Other mail stays where it is, unread.')}
              options={processedOptions}
              value={values.imapProcessed}
              onChange={(value) => onChange('imapProcessed', value as ServerFormValues['imapProcessed'])}
              disabled={readOnly}
            />
          </FormCell>
          {values.imapProcessed === 'move'
            ? textCell('imapMoveTo', 'imap.processed', text('server.field.imap.moveTo', 'Move to folder'), { hint: text('server.field.imap.moveTo.hint', 'Created when missing.') })
            : textCell('imapFlag', 'imap.processed', text('server.field.imap.flag', 'Keyword'))}
        </>
      )}
    </FormSection>
  );
}

/** Per-destination shaping (engine/destination-limits.ts): this server's own limits toward gmail, microsoft... */
function DestinationLimitsSection({ values, onChange, errors, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  return (
    <FormSection title={text('server.section.destinationLimits', 'Destination limits')}>
      <FormCell wide>
        <TextareaField
          name="destinationLimits"
          label={text('server.field.destinationLimits', 'Limits per destination')}
          placeholder={'gmail: 5 conn, 600/min\nmicrosoft: 2/s, 10000/h'}
          hint={text(
            'server.field.destinationLimits.hint',
            'One destination per line: a provider (gmail, microsoft, yahoo, apple), a domain, or default. Limits: N conn (sends at once), N/s, N/min, N/h; "no conn" lifts a shipped limit. Over the plugin config; empty: the config and shipped limits.'
          )}
          value={values.destinationLimits}
          onChange={(value) => onChange('destinationLimits', value)}
          error={errorForField(errors, 'destinationLimits')}
          disabled={readOnly}
        />
      </FormCell>
    </FormSection>
  );
}

function NotesSection({ values, onChange, errors, readOnly }: ServerFormFieldsProps) {
  const text = useText();
  return (
    <FormSection title={text('server.section.about', 'About this server')}>
      <FormCell wide>
        <TextareaField
          name="notes"
          label={text('server.field.notes', 'Notes')}
          hint={text('server.field.notes.hint', 'For your team: who provides this server, contract limits, contacts.')}
          value={values.notes}
          onChange={(value) => onChange('notes', value)}
          error={errorForField(errors, 'notes')}
          disabled={readOnly}
        />
      </FormCell>
    </FormSection>
  );
}
