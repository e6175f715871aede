import * as React from 'react';

import { Box, Field, Flex, Grid, Tabs, Textarea, Typography } from '@strapi/design-system';
import { useDebounce } from '@strapi/strapi/admin';
import { useIntl } from 'react-intl';

import type { TemplateContentInput, TemplateIssue } from '../../../../shared/contracts/campaigns';
import { useCampaignPreview, useTemplateValidation } from '../../api/campaign-queries';
import { errorForField, toApiError } from '../../api/errors';
import { ContentLoader } from '../../components/ContentLoader';
import { ErrorBox } from '../../components/ErrorBox';
import { TextField } from '../../components/form/fields';
import { getTranslation } from '../../utils/getTranslation';
import type { CampaignFormValues } from './campaignFormValues';
import { SubscriberPicker } from './SubscriberPicker';

/** Wait this long after the last keystroke before checking and rendering the template. */
const TEMPLATE_DELAY_MS = 500;

type TemplateField = TemplateIssue['field'];

/** Examples of the merge tags, shown above the fields (code, not translated). */
const MERGE_TAGS = [
  '{{ recipient.email }}',
  '{{ recipient.name | default: "there" }}',
  '{{ recipient.attributes.city }}',
  '{{ campaign.name }}',
  '{{ unsubscribe_url }}',
];

/** "Line 3, column 7: …" for each problem of one part, one per line. */
function useIssueText() {
  const { formatMessage } = useIntl();
  return (issues: TemplateIssue[]) =>
    issues
      .map((issue) =>
        issue.line === undefined
          ? issue.message
          : formatMessage(
              { id: getTranslation('campaign.template.issue'), defaultMessage: 'Line {line}, column {column}: {message}' },
              { line: issue.line, column: issue.column ?? 1, message: issue.message },
            ),
      )
      .join('\n');
}

/**
 * Checks the template parts as the editor types (debounced) and returns, for each part, the text of
 * its errors (if any) plus the debounced content the preview renders.
 */
export function useTemplateCheck(content: TemplateContentInput) {
  const debounced = useDebounce(content, TEMPLATE_DELAY_MS);
  const validation = useTemplateValidation(debounced);
  const issueText = useIssueText();
  const issues = validation.data?.data.errors ?? [];
  const errorOf = (field: TemplateField) => {
    const own = issues.filter((issue) => issue.field === field);
    return own.length > 0 ? issueText(own) : undefined;
  };
  return {
    debounced,
    ok: validation.data?.data.ok ?? false,
    errorOf,
    checkError: validation.isError ? toApiError(validation.error).message : undefined,
  };
}

interface CodeFieldProps {
  name: string;
  label: string;
  hint?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  disabled?: boolean;
  monospace?: boolean;
  rows?: number;
}

/** A tall textarea for a body; monospace for HTML. Errors keep their line breaks. */
function CodeField({ name, label, hint, value, onChange, error, disabled, monospace = false, rows = 16 }: CodeFieldProps) {
  return (
    <Field.Root name={name} hint={hint} error={error}>
      <Field.Label>{label}</Field.Label>
      <Textarea
        value={value}
        disabled={disabled}
        rows={rows}
        spellCheck={!monospace}
        style={monospace ? { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: '1.3rem' } : undefined}
        onChange={(event: React.ChangeEvent<HTMLTextAreaElement>) => onChange(event.target.value)}
      />
      <Field.Hint />
      <Box style={{ whiteSpace: 'pre-line' }}>
        <Field.Error />
      </Box>
    </Field.Root>
  );
}

interface CampaignContentProps {
  campaignId?: string;
  values: CampaignFormValues;
  onChange: <K extends keyof CampaignFormValues>(key: K, value: CampaignFormValues[K]) => void;
  /** Errors from saving or starting, by form key. */
  errors: Record<string, string>;
  check: ReturnType<typeof useTemplateCheck>;
  disabled: boolean;
}

/** Subject, preheader, HTML and text with their template errors, beside a live preview. */
export function CampaignContent({ campaignId, values, onChange, errors, check, disabled }: CampaignContentProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  // A template error found now wins over an older error from saving.
  const errorOf = (field: TemplateField) => check.errorOf(field) ?? errorForField(errors, field);

  return (
    <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
      <Flex direction="column" alignItems="stretch" gap={4}>
        <Typography variant="delta" tag="h2">
          {text('campaign.section.content', 'Content')}
        </Typography>
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(
            { id: getTranslation('campaign.content.tags'), defaultMessage: 'Merge tags: {tags}. Values are HTML-escaped.' },
            { tags: MERGE_TAGS.join(', ') },
          )}
        </Typography>
        <Grid.Root gap={6}>
          <Grid.Item col={6} s={12} direction="column" alignItems="stretch" gap={4}>
            <TextField
              name="subject"
              label={text('campaign.field.subject', 'Subject')}
              required
              value={values.subject}
              onChange={(value) => onChange('subject', value)}
              error={errorOf('subject')}
              disabled={disabled}
            />
            <TextField
              name="preheader"
              label={text('campaign.field.preheader', 'Preheader')}
              hint={text('campaign.field.preheader.hint', 'The line inboxes show after the subject.')}
              value={values.preheader}
              onChange={(value) => onChange('preheader', value)}
              error={errorOf('preheader')}
              disabled={disabled}
            />
            <CodeField
              name="html"
              label={text('campaign.field.html', 'HTML body')}
              monospace
              rows={20}
              value={values.html}
              onChange={(value) => onChange('html', value)}
              error={errorOf('html')}
              disabled={disabled}
            />
            <CodeField
              name="text"
              label={text('campaign.field.text', 'Text body')}
              hint={text('campaign.field.text.hint', 'Leave empty to make it from the HTML.')}
              rows={8}
              value={values.text}
              onChange={(value) => onChange('text', value)}
              error={errorOf('text')}
              disabled={disabled}
            />
            {check.checkError && (
              <ErrorBox title={text('campaign.template.checkFailed', 'The template could not be checked')} message={check.checkError} />
            )}
          </Grid.Item>
          <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
            <CampaignPreviewPane campaignId={campaignId} content={check.debounced} templateOk={check.ok} />
          </Grid.Item>
        </Grid.Root>
      </Flex>
    </Box>
  );
}

interface CampaignPreviewPaneProps {
  campaignId?: string;
  content: TemplateContentInput;
  /** The last check found no error (rendering a broken template would only repeat its errors). */
  templateOk: boolean;
}

/**
 * The campaign as a recipient gets it, rendered by the API from the unsaved content, for a chosen
 * subscriber or sample data. The HTML is shown in a sandboxed iframe: no scripts, no forms, no
 * access to the admin's page or cookies.
 */
function CampaignPreviewPane({ campaignId, content, templateOk }: CampaignPreviewPaneProps) {
  const { formatMessage } = useIntl();
  const text = (id: string, defaultMessage: string) => formatMessage({ id: getTranslation(id), defaultMessage });
  const [subscriberId, setSubscriberId] = React.useState('');
  const input = React.useMemo(
    () => ({ content, ...(subscriberId ? { subscriberId } : {}) }),
    [content, subscriberId],
  );
  const preview = useCampaignPreview(campaignId, input, templateOk);
  const rendered = preview.data?.data;

  let body: React.ReactNode;
  if (!campaignId) {
    body = <Typography textColor="neutral600">{text('campaign.preview.saveFirst', 'Save the campaign to see its preview.')}</Typography>;
  } else if (!templateOk && !rendered) {
    body = <Typography textColor="neutral600">{text('campaign.preview.fixErrors', 'Fix the template errors to see the preview.')}</Typography>;
  } else if (preview.isError) {
    body = <ErrorBox title={text('campaign.preview.failed', 'The preview could not be rendered')} message={toApiError(preview.error).message} />;
  } else if (!rendered) {
    body = <ContentLoader />;
  } else {
    body = (
      <Flex direction="column" alignItems="stretch" gap={3}>
        <Typography variant="pi" textColor="neutral600">
          {formatMessage(
            { id: getTranslation('campaign.preview.for'), defaultMessage: 'For {email}' },
            { email: rendered.recipient.email },
          )}
        </Typography>
        <Box>
          <Typography variant="sigma" textColor="neutral600">
            {text('campaign.preview.subject', 'Subject')}
          </Typography>
          <Typography tag="p" fontWeight="bold" data-testid="preview-subject">
            {rendered.subject}
          </Typography>
        </Box>
        <Tabs.Root defaultValue="html">
          <Tabs.List aria-label={text('campaign.preview.parts', 'Message parts')}>
            <Tabs.Trigger value="html">{text('campaign.preview.html', 'HTML')}</Tabs.Trigger>
            <Tabs.Trigger value="text">{text('campaign.preview.text', 'Text')}</Tabs.Trigger>
          </Tabs.List>
          <Tabs.Content value="html">
            <Box paddingTop={2}>
              <iframe
                title={text('campaign.preview.frame', 'HTML preview')}
                sandbox=""
                srcDoc={rendered.html}
                style={{ width: '100%', height: '60rem', border: '1px solid #dcdce4', borderRadius: 4, background: '#fff' }}
              />
            </Box>
          </Tabs.Content>
          <Tabs.Content value="text">
            <Box paddingTop={2} padding={4} background="neutral100" hasRadius>
              <Typography tag="pre" style={{ whiteSpace: 'pre-wrap', fontFamily: 'monospace', margin: 0 }}>
                {rendered.text}
              </Typography>
            </Box>
          </Tabs.Content>
        </Tabs.Root>
      </Flex>
    );
  }

  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Typography variant="sigma" textColor="neutral600" tag="h3">
        {text('campaign.preview.title', 'Preview')}
      </Typography>
      {campaignId && (
        <SubscriberPicker
          name="previewAs"
          label={text('campaign.preview.as', 'Preview as')}
          hint={text('campaign.preview.as.hint', 'A subscriber whose data fills the merge tags; sample data when empty.')}
          value={subscriberId}
          onChange={setSubscriberId}
        />
      )}
      {body}
    </Flex>
  );
}
