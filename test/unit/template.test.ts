import {
  createTemplateEngine,
  TemplateError,
  validateTemplate,
  type CampaignContent,
  type TemplateContext,
  type TemplateIssue,
} from '../../server/src/engine/template';

const context = (overrides: Partial<TemplateContext['recipient']> = {}): TemplateContext => ({
  recipient: { email: 'ann@example.com', name: 'Ann', attributes: { plan: 'pro' }, ...overrides },
  campaign: { name: 'Spring sale' },
  unsubscribeUrl: 'https://example.com/api/multi-smtp/unsubscribe/tok123',
});

const render = (content: Partial<CampaignContent>, ctx: TemplateContext = context()) =>
  createTemplateEngine()
    .compile({ subject: '', html: '', ...content })
    .renderSync(ctx);

/** The issues a compile throws, or fails the test when it does not throw a TemplateError. */
const compileIssues = (content: Partial<CampaignContent>): TemplateIssue[] => {
  try {
    createTemplateEngine().compile({ subject: '', html: '', ...content });
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return (error as TemplateError).errors;
  }
  throw new Error('expected compile() to throw a TemplateError');
};

describe('campaign templates', () => {
  it('renders the merge tags in every part', async () => {
    const compiled = createTemplateEngine().compile({
      subject: 'Hi {{ recipient.name }}, {{ campaign.name }}',
      html: '<p>{{ recipient.email }} is on {{ recipient.attributes.plan }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>',
      text: 'Plan: {{ recipient.attributes.plan }}. Leave: {{ unsubscribe_url }}',
    });
    const result = await compiled.render(context());
    expect(result.subject).toBe('Hi Ann, Spring sale');
    expect(result.html).toBe(
      '<p>ann@example.com is on pro</p><a href="https://example.com/api/multi-smtp/unsubscribe/tok123">Unsubscribe</a>'
    );
    expect(result.text).toBe('Plan: pro. Leave: https://example.com/api/multi-smtp/unsubscribe/tok123');
  });

  it('makes extra context values available by their own name', () => {
    const result = render({ html: '{{ site.name }}' }, { ...context(), site: { name: 'Acme' } });
    expect(result.html).toBe('Acme');
  });

  it('HTML-escapes values in the html part once, and prints `| raw` as is', () => {
    const ctx = context({ name: '<script>alert("x")</script> & co' });
    const result = render(
      {
        subject: 'For {{ recipient.name }}',
        html: '<p>{{ recipient.name }}</p><p>{{ recipient.name | escape }}</p><p>{{ recipient.name | raw }}</p>',
        text: '{{ recipient.name }}',
      },
      ctx
    );
    const escaped = '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co';
    expect(result.html).toBe(`<p>${escaped}</p><p>${escaped}</p><p><script>alert("x")</script> & co</p>`);
    expect(result.html).not.toContain('&amp;lt;');
    // Subject and text are plain text: no escaping there.
    expect(result.subject).toBe('For <script>alert("x")</script> & co');
    expect(result.text).toBe('<script>alert("x")</script> & co');
  });

  it('flattens line breaks from data in the subject so no header can be injected', () => {
    const ctx = context({ name: 'Ann\r\nBcc: victim@example.com\n\nhello' });
    const { subject } = render({ subject: 'Hi {{ recipient.name }}\n' }, ctx);
    expect(subject).toBe('Hi Ann Bcc: victim@example.com hello');
    expect(subject).not.toMatch(/[\r\n]/);
  });

  it('uses the default filter for missing or empty values, and renders other missing values empty', () => {
    const html = 'Hello {{ recipient.name | default: "friend" }}|{{ recipient.attributes.city }}|{{ nothing.at.all }}';
    expect(render({ html }, context({ name: null })).html).toBe('Hello friend||');
    expect(render({ html }, context({ name: '' })).html).toBe('Hello friend||');
    expect(render({ html }).html).toBe('Hello Ann||');
    expect(render({ html: '{% if recipient.name %}Hi {{ recipient.name }}{% else %}Hi{% endif %}' }, context({ name: '' })).html).toBe('Hi');
  });

  it('refuses an unknown filter at compile time, naming the part, line and column', () => {
    const issues = compileIssues({ subject: 'Fine', html: '<p>\n  {{ recipient.name | shout }}\n</p>' });
    expect(issues).toEqual([{ field: 'html', message: 'undefined filter: shout', line: 2, column: 3 }]);
  });

  it('skips unknown filters when strictFilters is off', () => {
    const compiled = createTemplateEngine({ strictFilters: false }).compile({ subject: '', html: '{{ recipient.name | shout }}' });
    expect(compiled.renderSync(context()).html).toBe('Ann');
  });

  it('refuses an unclosed tag, naming the subject', () => {
    const issues = compileIssues({ subject: 'Hello {{ recipient.name', html: '<p>ok</p>' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: 'subject', line: 1, column: 7 });
    expect(issues[0]!.message).toMatch(/not closed/);
  });

  it('reports every broken part at once', () => {
    const issues = compileIssues({
      subject: '{% if x %}open',
      preheader: '{{ a | nope }}',
      html: '{{ a | one }}\n{{ b | two }}',
      text: '{% endfor %}',
    });
    expect(issues.map((issue) => [issue.field, issue.line])).toEqual([
      ['subject', 1],
      ['preheader', 1],
      ['html', 1],
      ['html', 2],
      ['text', 1],
    ]);
  });

  it.each(["{% include 'x' %}", "{% render 'x' %}", "{% layout 'x' %}"])('refuses file access: %s', (html) => {
    const issues = compileIssues({ html });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: 'html', line: 1, column: 1 });
    expect(issues[0]!.message).toMatch(/not available in campaign templates/);
  });

  it('cannot reach prototypes or globals', () => {
    const result = render({ html: '[{{ recipient.constructor }}][{{ recipient.__proto__ }}][{{ process.env }}][{{ global }}]' });
    expect(result.html).toBe('[][][][]');
  });

  it('stops a huge loop by its memory budget', () => {
    const compiled = createTemplateEngine().compile({ subject: '', html: '{% for i in (1..100000000) %}x{% endfor %}' });
    expect(() => compiled.renderSync(context())).toThrow(TemplateError);
    expect(() => compiled.renderSync(context())).toThrow(/html, line 1, column 1: memory alloc limit exceeded/);
  });

  it('stops a loop that repeats a large block by its output budget', () => {
    // Within the memory and time budgets (500 steps), but 450 MB of output without the cap.
    const compiled = createTemplateEngine().compile({ subject: '', html: `{% for i in (1..500) %}${'x'.repeat(900_000)}{% endfor %}` });
    expect(() => compiled.renderSync(context())).toThrow(/html, line 1, column 24: the rendered output is longer than 2000000 characters/);
    // Each part has its own budget; a subject of normal size renders as before.
    const small = createTemplateEngine({ limits: { outputChars: 10 } }).compile({ subject: 'Hi {{ recipient.email }}', html: '<p>ok</p>' });
    expect(() => small.renderSync(context())).toThrow(/subject.*longer than 10 characters/);
  });

  it('stops a long loop by its time budget', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const compiled = createTemplateEngine({ limits: { renderMs: 50 } }).compile({
      subject: '',
      html: '{% for a in items %}{% for b in items %}{% for c in items %}x{% endfor %}{% endfor %}{% endfor %}',
    });
    await expect(compiled.render({ ...context(), items })).rejects.toThrow(/template render limit exceeded/);
  });

  it('refuses a template larger than the size budget', () => {
    const issues = compileIssues({ html: 'x'.repeat(1_000_001) });
    expect(issues).toEqual([{ field: 'html', message: 'parse length limit exceeded' }]);
  });

  it('generates the text part from the HTML when it is empty, links as "text [url]"', () => {
    const html =
      '<html><head><title>T</title><style>p { color: red }</style></head><body>' +
      '<h2>News</h2><p>Hello {{ recipient.name }},</p><p>Read <a href="https://example.com/post">the post</a>.</p>' +
      '<p><a href="https://example.com">https://example.com</a></p><img src="logo.png" alt="Logo">' +
      '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>';
    for (const text of [null, '', '  \n']) {
      expect(render({ html, text }).text).toBe(
        'NEWS\n\nHello Ann,\n\nRead the post [https://example.com/post].\n\nhttps://example.com\n\n' +
          'Unsubscribe [https://example.com/api/multi-smtp/unsubscribe/tok123]'
      );
    }
  });

  it('injects the rendered preheader as hidden text at the top of the body, not into the text part', () => {
    const result = render({
      preheader: 'Only today, {{ recipient.name }} & friends',
      html: '<html><body class="x"><p>Sale</p></body></html>',
    });
    expect(result.html).toMatch(
      /^<html><body class="x"><span style="display:none !important;[^"]*">Only today, Ann &#38; friends<\/span><p>Sale<\/p><\/body><\/html>$/
    );
    expect(result.text).toBe('Sale');
  });

  it('puts the preheader first when the HTML has no body tag, and on one line', () => {
    const result = render({ preheader: 'Line one\nline two', html: '<p>Sale</p>' });
    expect(result.html).toMatch(/^<span style="[^"]*">Line one line two<\/span><p>Sale<\/p>$/);
    expect(render({ preheader: '{{ recipient.attributes.missing }}', html: '<p>Sale</p>' }).html).toBe('<p>Sale</p>');
  });

  it('compiles once and renders many recipients', () => {
    const compiled = createTemplateEngine().compile({
      subject: 'Hi {{ recipient.name | default: "there" }}',
      preheader: 'For {{ recipient.email }}',
      html: '<body><p>{{ recipient.attributes.n }}</p><a href="{{ unsubscribe_url }}">Leave</a></body>',
    });
    for (let n = 0; n < 1000; n++) {
      const result = compiled.renderSync({
        recipient: { email: `r${n}@example.com`, name: n % 2 ? `R${n}` : null, attributes: { n } },
        unsubscribeUrl: `https://example.com/u/${n}`,
      });
      expect(result.subject).toBe(n % 2 ? `Hi R${n}` : 'Hi there');
      expect(result.html).toContain(`>For r${n}@example.com</span><p>${n}</p><a href="https://example.com/u/${n}">`);
      expect(result.text).toBe(`${n}\n\nLeave [https://example.com/u/${n}]`);
    }
  });

  describe('validateTemplate', () => {
    it('returns [] for a good template', () => {
      expect(validateTemplate({ subject: 'Hi {{ recipient.name }}', html: '<p>{{ unsubscribe_url }}</p>' })).toEqual([]);
    });

    it('returns the compile errors', () => {
      expect(validateTemplate({ subject: 'x', html: '{{ a | nope }}' })).toEqual([
        { field: 'html', message: 'undefined filter: nope', line: 1, column: 1 },
      ]);
    });

    it('catches a template that only fails when rendered, before sending', () => {
      const issues = validateTemplate({ subject: 'x', html: '<p>\n{% for i in (1..100000000) %}x{% endfor %}</p>' });
      expect(issues).toEqual([{ field: 'html', message: 'memory alloc limit exceeded', line: 2, column: 1 }]);
    });
  });
});
