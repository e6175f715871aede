import { compile as compileHtmlToText } from 'html-to-text';
import {
  Context,
  filters as builtInFilters,
  Liquid,
  LiquidError,
  Tag,
  toValueSync,
  type Emitter,
  type FS,
  type TagToken,
  type Template,
  type TopLevelToken,
} from 'liquidjs';

/**
 * Campaign templates: merge tags rendered with liquidjs, a template language that evaluates
 * expressions itself and never runs JavaScript, so an editor's template cannot execute code.
 *
 * What a template can use (one scheme, the same in every part):
 *
 *   {{ recipient.email }}               the recipient's address
 *   {{ recipient.name }}                their name (empty when unknown)
 *   {{ recipient.attributes.plan }}     any custom attribute of the subscriber
 *   {{ campaign.name }}                 the campaign (and whatever else the caller puts in it)
 *   {{ unsubscribe_url }}               this recipient's personal unsubscribe link
 *   {{ recipient.name | default: "friend" }}   a fallback for a missing or empty value
 *
 * Anything else the caller adds to the render context is available by its own name at the top
 * level. A missing value renders as nothing; an unknown filter or a syntax error is refused when
 * the campaign is compiled, with the part, line and column, so an editor sees it before sending.
 *
 * Parts:
 * - `html`: every `{{ value }}` is HTML-escaped; `{{ value | raw }}` prints a trusted value as is,
 *   and `| escape` does not escape twice.
 * - `subject`, `preheader`, `text`: plain text, not escaped. The subject and preheader are kept on
 *   one line (line breaks from data become spaces), so a value can never inject a mail header.
 * - `preheader`: the inbox preview text, injected as a hidden span at the top of the HTML body.
 * - `text`: when empty, generated from the rendered HTML (links as "text [url]").
 *
 * Templates cannot read files (`include`, `render` and `layout` are refused), and each render is
 * bounded in template size, time and memory, so a hostile template cannot hang a worker.
 */

export type TemplatePart = 'subject' | 'preheader' | 'html' | 'text';

export interface CampaignContent {
  subject: string;
  preheader?: string | null;
  html: string;
  text?: string | null;
}

export interface RecipientData {
  email: string;
  name?: string | null;
  attributes?: Record<string, unknown>;
}

export interface TemplateContext {
  recipient: RecipientData;
  campaign?: { name: string; [key: string]: unknown } | null;
  /** Shown to templates as `{{ unsubscribe_url }}`. */
  unsubscribeUrl: string;
  /** Anything else is available to templates under its own name. */
  [extra: string]: unknown;
}

export interface RenderedCampaign {
  subject: string;
  html: string;
  text: string;
}

export interface CompiledCampaign {
  /** Renders the campaign for one recipient; rejects with a TemplateError (e.g. a limit was hit). */
  render(context: TemplateContext): Promise<RenderedCampaign>;
  /** The same, synchronously: rendering never waits on I/O. */
  renderSync(context: TemplateContext): RenderedCampaign;
}

export interface TemplateIssue {
  field: TemplatePart;
  message: string;
  line?: number;
  column?: number;
}

export class TemplateError extends Error {
  readonly errors: TemplateIssue[];

  constructor(errors: TemplateIssue[]) {
    const described = errors.map((issue) => {
      const where = issue.line === undefined ? issue.field : `${issue.field}, line ${issue.line}, column ${issue.column ?? 1}`;
      return `${where}: ${issue.message}`;
    });
    super(`multi-smtp: campaign template error${errors.length > 1 ? 's' : ''}: ${described.join('; ')}`);
    this.name = 'TemplateError';
    this.errors = errors;
  }
}

/** Per-part budgets. A real email template stays far below each of them. */
export interface TemplateLimits {
  /** Characters of template source per part (Gmail clips mail above ~100 KB; this is 10 times more). */
  templateChars: number;
  /** Milliseconds one part may take to render for one recipient. */
  renderMs: number;
  /** liquidjs' allocation budget per part render: range sizes, array items, characters built by filters. */
  memoryUnits: number;
  /**
   * Characters one part may render to. liquidjs' own budgets do not count plain text repeated by a
   * loop: a 900 KB block in a 500-step loop renders 450 MB within the time budget.
   */
  outputChars: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  templateChars: 1_000_000,
  renderMs: 1_000,
  memoryUnits: 1_000_000,
  outputChars: 2_000_000,
};

/** liquidjs' plain emitter, refusing to grow past a number of characters (checked at every write). */
class CappedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly maxChars: number) {}
  write(html: unknown) {
    this.buffer += html === null || html === undefined ? '' : String(html);
    if (this.buffer.length > this.maxChars) {
      throw new Error(`the rendered output is longer than ${this.maxChars} characters`);
    }
  }
}

export interface TemplateEngineOptions {
  /** Refuse unknown filters at compile time (default true). Off, they are silently skipped. */
  strictFilters?: boolean;
  limits?: Partial<TemplateLimits>;
}

export interface TemplateEngine {
  /** Parses every part once; throws a TemplateError listing each problem. Reuse the result for all recipients. */
  compile(content: CampaignContent): CompiledCampaign;
}

/** Partials and layouts would read files: these tags fail at compile time with a clear message. */
const FILE_TAGS = ['include', 'render', 'layout'] as const;

class RefusedTag extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(`the "${token.name}" tag is not available in campaign templates (they cannot read files)`);
  }

  render(): void {
    // Never reached: the constructor always throws.
  }
}

/** A file system that has no files, in case anything in liquidjs still tries to read one. */
const NO_FILES: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => {
    throw new Error('campaign templates cannot read files');
  },
  readFileSync: () => {
    throw new Error('campaign templates cannot read files');
  },
  resolve: (_dir, file) => file,
};

/** One of liquidjs' own filter functions, to register again with other options. */
const builtInFilter = (name: string) => {
  const filter = builtInFilters[name];
  if (typeof filter !== 'function') throw new Error(`multi-smtp: liquidjs has no plain "${name}" filter`);
  return filter;
};

const createLiquid = (escapeOutput: boolean, strictFilters: boolean, limits: TemplateLimits): Liquid => {
  const liquid = new Liquid({
    fs: NO_FILES,
    root: [],
    relativeReference: false,
    strictFilters,
    strictVariables: false,
    ownPropertyOnly: true, // no access to prototypes (`recipient.constructor` is empty)
    catchAllErrors: true, // report every error of a part at once, not just the first
    outputEscape: escapeOutput ? 'escape' : undefined,
    parseLimit: limits.templateChars,
    renderLimit: limits.renderMs,
    memoryLimit: limits.memoryUnits,
  });
  for (const name of FILE_TAGS) liquid.registerTag(name, RefusedTag);
  if (escapeOutput) {
    // Marked raw so the automatic escape is not applied a second time after an explicit one.
    liquid.registerFilter('escape', { raw: true, handler: builtInFilter('escape') });
    liquid.registerFilter('escape_once', { raw: true, handler: builtInFilter('escape_once') });
  }
  return liquid;
};

/** liquidjs appends the position to its messages; the editor gets it as separate fields. */
const withoutPosition = (message: string): string => message.replace(/(, file:.*)?, line:\d+, col:\d+$/, '');

/** Turns whatever liquidjs threw (one error, or a tree of collected errors) into issues for one part. */
const toIssues = (field: TemplatePart, error: unknown): TemplateIssue[] => {
  const collected = (error as { errors?: unknown } | null)?.errors;
  if (LiquidError.is(error) && Array.isArray(collected)) {
    return collected.flatMap((inner: unknown) => toIssues(field, inner));
  }
  if (LiquidError.is(error)) {
    const [line, column] = error.token.getPosition();
    const message = withoutPosition(error.originalError?.message ?? error.message);
    return [{ field, message, line, column }];
  }
  return [{ field, message: withoutPosition(error instanceof Error ? error.message : String(error)) }];
};

const LINE_BREAKS = /\s*[\r\n\u0085\u2028\u2029]+\s*/g;
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const OTHER_CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** One header-safe line: line breaks become a space, other control characters go. */
const toSingleLine = (value: string): string =>
  value.replace(LINE_BREAKS, ' ').replace(OTHER_CONTROL_CHARACTERS, '').replace(/\t/g, ' ').trim();

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** Hidden in the message but shown by mail clients next to the subject in the inbox. */
const PREHEADER_STYLE =
  'display:none !important;visibility:hidden;mso-hide:all;font-size:1px;line-height:1px;' +
  'max-height:0;max-width:0;opacity:0;overflow:hidden;color:transparent;';

const injectPreheader = (html: string, preheader: string): string => {
  if (!preheader) return html;
  const span = `<span style="${PREHEADER_STYLE}">${escapeHtml(preheader)}</span>`;
  const bodyTag = /<body\b[^>]*>/i.exec(html);
  if (!bodyTag) return span + html;
  const afterBodyTag = bodyTag.index + bodyTag[0].length;
  return html.slice(0, afterBodyTag) + span + html.slice(afterBodyTag);
};

/** Built once: html-to-text turns its options into a converter, the slow part of each call otherwise. */
const htmlToText = compileHtmlToText({
  wordwrap: false, // long lines are fine: the mail encoder wraps them, and wrapping would break URLs
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } }, // "text [url]", never "url [url]"
    { selector: 'img', format: 'skip' }, // image file names are noise in a text part
  ],
});

/** What templates see: see the top of this file. */
const toScope = (context: TemplateContext): Record<string, unknown> => {
  const { recipient, campaign, unsubscribeUrl, ...extras } = context;
  return {
    ...extras,
    recipient: {
      email: recipient.email,
      // An empty name is treated as missing, so `{% if recipient.name %}` behaves as expected.
      name: recipient.name || null,
      attributes: recipient.attributes ?? {},
    },
    campaign: campaign ?? null,
    unsubscribe_url: unsubscribeUrl,
  };
};

export const createTemplateEngine = (options: TemplateEngineOptions = {}): TemplateEngine => {
  const strictFilters = options.strictFilters ?? true;
  const limits: TemplateLimits = { ...DEFAULT_TEMPLATE_LIMITS, ...options.limits };
  const htmlLiquid = createLiquid(true, strictFilters, limits);
  const plainLiquid = createLiquid(false, strictFilters, limits);

  return {
    compile(content) {
      const issues: TemplateIssue[] = [];
      const parse = (field: TemplatePart, source: string | null | undefined, liquid: Liquid): Template[] | null => {
        if (!source) return null;
        try {
          return liquid.parse(source);
        } catch (error) {
          issues.push(...toIssues(field, error));
          return null;
        }
      };
      const subject = parse('subject', content.subject, plainLiquid);
      const preheader = parse('preheader', content.preheader, plainLiquid);
      const html = parse('html', content.html, htmlLiquid);
      // Whitespace only counts as empty: the text part is then generated from the HTML.
      const text = content.text?.trim() ? parse('text', content.text, plainLiquid) : null;
      if (issues.length) throw new TemplateError(issues);

      const renderPart = (field: TemplatePart, templates: Template[] | null, liquid: Liquid, scope: object): string => {
        if (!templates) return '';
        try {
          // liquid.renderSync with a capped emitter: loops and blocks write into the same one.
          const context = new Context(scope, liquid.options, { sync: true }, { liquid });
          return toValueSync(liquid.renderer.renderTemplates(templates, context, new CappedEmitter(limits.outputChars))) as string;
        } catch (error) {
          throw new TemplateError(toIssues(field, error));
        }
      };

      const renderSync = (context: TemplateContext): RenderedCampaign => {
        const scope = toScope(context);
        const renderedHtml = renderPart('html', html, htmlLiquid, scope);
        return {
          subject: toSingleLine(renderPart('subject', subject, plainLiquid, scope)),
          // Generated before the preheader goes in: the preview text is not part of the message.
          text: text ? renderPart('text', text, plainLiquid, scope) : htmlToText(renderedHtml).trim(),
          html: injectPreheader(renderedHtml, toSingleLine(renderPart('preheader', preheader, plainLiquid, scope))),
        };
      };

      return {
        renderSync,
        // Nothing to wait for, but callers get the usual promise (and a rejection, not a throw).
        render: async (context) => renderSync(context),
      };
    },
  };
};

/** Stands in for a real subscriber when checking a template before sending. */
export const SAMPLE_CONTEXT: TemplateContext = {
  recipient: { email: 'preview@example.com', name: 'Preview', attributes: {} },
  campaign: { name: 'Preview' },
  unsubscribeUrl: 'https://example.com/api/multi-smtp/unsubscribe/preview',
};

/**
 * For the editor, before sending: every problem of the campaign's template, or [] when it is fine.
 * Beyond compiling, it renders once for a sample recipient, so a template that only fails when run
 * (a loop over the limits) is also caught now rather than half-way through the campaign.
 */
export const validateTemplate = (
  content: CampaignContent,
  options: TemplateEngineOptions & { sample?: TemplateContext } = {}
): TemplateIssue[] => {
  try {
    createTemplateEngine(options).compile(content).renderSync(options.sample ?? SAMPLE_CONTEXT);
    return [];
  } catch (error) {
    if (error instanceof TemplateError) return error.errors;
    throw error;
  }
};
