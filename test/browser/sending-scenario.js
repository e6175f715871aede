/**
 * Browser scenario: the sending settings issue 12 added to the admin, each saved, read back after a
 * reload and checked through the admin API as stored data.
 *
 * 1. Response rules: the shipped rules are listed read-only (a switch each, nothing to edit); the
 *    admin adds a custom throttle rule through the dialog and sees it listed; a pattern with nested
 *    repetition, (a+)+, shows the contract's error under Pattern (the API answers the same 400) and
 *    nothing is saved; turning a shipped rule off persists.
 * 2. The server form: allowed From domains, local address and destination limits.
 * 3. The group form: sticky rotation and its period.
 * 4. The campaign editor: segment routing by a subscriber attribute, a value to a group.
 *
 * Seeded through the admin API (a server, two groups, a draft campaign), as the admin would find
 * them. The server is disabled, so the earlier scenarios' mail never goes through it.
 */

/** Playwright's getByLabel takes a regular expression; labels such as "Duration (seconds)" need escaping. */
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * @param {object} context
 * @param {string} context.baseUrl     the running Strapi
 * @param {{ host: string, port: number }} context.sink  run.js's SMTP sink
 * @param {(cleanup: () => Promise<void>) => void} context.onCleanup  runs at the end, pass or fail
 * @param {object} context.ui          run.js's helpers: field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, and the admin API's api() and call() (admin-api.js)
 */
function defineSendingTests({ baseUrl, sink, onCleanup, ui }) {
  const { screenshot, log, api, call } = ui;
  const field = (scope, label) => ui.field(scope, escapeRegExp(label));
  const runId = `${process.pid}`;
  const pluginPage = (path) => `${baseUrl}/admin/plugins/multi-smtp${path}`;


  /** JSON with object keys sorted, so stored data compares whatever order its keys come in. */
  const canonical = (value) =>
    JSON.stringify(value, (_, item) =>
      item && typeof item === 'object' && !Array.isArray(item)
        ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
        : item
    );
  const expectEqual = (what, actual, expected) => {
    if (canonical(actual) !== canonical(expected)) {
      throw new Error(`${what}: expected ${canonical(expected)}, got ${canonical(actual)}`);
    }
  };

  /** The value of the input labelled `label`, once the page shows it. */
  async function inputValue(scope, label) {
    const input = field(scope, label);
    await input.waitFor();
    return input.inputValue();
  }

  /**
   * Chooses `option` in the select labelled `label` within `scope` (the design system's selects are
   * comboboxes; their options open in a portal, outside any dialog, so they are found on the page).
   */
  async function choose(page, scope, label, option) {
    await scope.getByRole('combobox', { name: new RegExp(`^${escapeRegExp(label)}`) }).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  }

  /** The select labelled `label`, once it shows `option` as chosen. */
  const chosen = (scope, label, option) =>
    scope.getByRole('combobox', { name: new RegExp(`^${escapeRegExp(label)}`) }).filter({ hasText: option }).waitFor();

  const customPattern = `CUSTOM-42-${runId}`;
  const customDescription = `Custom throttle ${runId}`;
  const badPattern = '(a+)+';
  const nestedRepetition = 'repeats a group that itself repeats, e.g. (a+)+: such a pattern can take forever on some replies';
  const toggleName = (ruleId) => `Turn ${ruleId} on or off`;

  return [
    {
      name: 'response rules: shipped rules read-only, a custom rule added, a bad pattern refused, a shipped rule turned off',
      async run(page) {
        const before = (await api('GET', '/response-rules')).data;
        if (before.shipped.length === 0) throw new Error('the API lists no shipped response rule');
        const shippedRule = before.shipped.find((rule) => rule.enabled);
        if (!shippedRule) throw new Error('no shipped response rule is on, so none can be turned off');
        onCleanup(() => api('PUT', `/response-rules/shipped/${encodeURIComponent(shippedRule.ruleId)}`, { enabled: true }));

        await page.getByRole('link', { name: 'Response rules', exact: true }).click();
        await page.getByRole('heading', { name: 'Response rules', exact: true }).waitFor();
        await page.getByRole('heading', { name: 'Shipped rules', exact: true }).waitFor();
        // Every shipped rule is listed with its switch, in the state the API gives, and nothing else to act on.
        for (const rule of before.shipped) {
          const toggle = page.getByRole('switch', { name: toggleName(rule.ruleId), exact: true });
          const state = await toggle.getAttribute('aria-checked');
          expectEqual(`the switch of the shipped rule ${rule.ruleId}`, state, String(rule.enabled));
          const row = page.getByRole('row').filter({ has: toggle });
          await row.filter({ hasText: rule.description }).waitFor();
          const editable = (await row.getByRole('button').count()) + (await row.getByRole('textbox').count());
          expectEqual(`buttons and text boxes in the row of the shipped rule ${rule.ruleId}`, editable, 0);
        }
        expectEqual('switches on the page (one per shipped rule)', await page.getByRole('switch').count(), before.shipped.length);
        await screenshot(page, 'response-rules');

        // A custom throttle rule through the dialog.
        await page.getByRole('button', { name: 'Add rule', exact: true }).click();
        let dialog = page.getByRole('dialog');
        await dialog.getByText('Add a response rule', { exact: true }).waitFor();
        await field(dialog, 'Pattern').fill(customPattern);
        await field(dialog, 'Description').fill(customDescription);
        await choose(page, dialog, 'Action', 'Throttle the server to a rate');
        await field(dialog, 'Messages per second').fill('2');
        await field(dialog, 'Duration (seconds)').fill('600');
        await screenshot(page, 'response-rule-dialog');
        await dialog.getByRole('button', { name: 'Save', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
        const customRow = page.getByRole('row').filter({ hasText: customDescription });
        await customRow.filter({ hasText: customPattern }).filter({ hasText: 'Throttle to 2/s for 600 s' }).filter({ hasText: 'Enabled' }).waitFor();

        const afterAdd = (await api('GET', '/response-rules')).data;
        expectEqual('custom rules after adding one', afterAdd.custom.length, before.custom.length + 1);
        const stored = afterAdd.custom.find((rule) => rule.pattern === customPattern);
        if (!stored) throw new Error(`the API lists no custom rule with the pattern ${customPattern}`);
        expectEqual(
          'the stored custom rule',
          [stored.action, stored.ratePerSecond, stored.durationSec, stored.description, stored.enabled, stored.thresholdCount],
          ['throttle', 2, 600, customDescription, true, null]
        );

        // Opening it shows what was saved.
        await customRow.getByText(customDescription, { exact: true }).click();
        dialog = page.getByRole('dialog');
        await dialog.getByText('Edit response rule', { exact: true }).waitFor();
        expectEqual('the pattern in the edit dialog', await inputValue(dialog, 'Pattern'), customPattern);
        expectEqual('the rate in the edit dialog', await inputValue(dialog, 'Messages per second'), '2');
        await dialog.getByRole('button', { name: 'Close', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });

        // Nested repetition: the API refuses it naming the field, and the dialog shows that error under Pattern.
        const refused = await call('POST', '/response-rules', {
          pattern: badPattern,
          description: 'Backtracks forever',
          action: 'suspend',
          durationSec: 60,
        });
        expectEqual('the API status for (a+)+', refused.status, 400);
        const apiError = (refused.body?.error?.details?.errors ?? []).find((error) => error.path?.join('.') === 'pattern');
        expectEqual('the API error naming pattern', apiError?.message, nestedRepetition);

        await page.getByRole('button', { name: 'Add rule', exact: true }).click();
        dialog = page.getByRole('dialog');
        await dialog.getByText('Add a response rule', { exact: true }).waitFor();
        await field(dialog, 'Pattern').fill(badPattern);
        await field(dialog, 'Description').fill('Backtracks forever');
        await dialog.getByRole('button', { name: 'Save', exact: true }).click();
        await dialog.getByText(nestedRepetition, { exact: true }).waitFor();
        const patternInput = field(dialog, 'Pattern');
        expectEqual('Pattern marked invalid', await patternInput.getAttribute('aria-invalid'), 'true');
        await screenshot(page, 'response-rule-refused');
        await dialog.getByRole('button', { name: 'Close', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
        const afterRefusal = (await api('GET', '/response-rules')).data;
        expectEqual('custom rules after the refused one', afterRefusal.custom.length, afterAdd.custom.length);
        expectEqual('custom rules with (a+)+', afterRefusal.custom.filter((rule) => rule.pattern === badPattern).length, 0);

        // A shipped rule turned off: the switch follows the saved state, which the API and a reload keep.
        const toggle = page.getByRole('switch', { name: toggleName(shippedRule.ruleId), exact: true });
        await toggle.click();
        await page.getByRole('switch', { name: toggleName(shippedRule.ruleId), exact: true, checked: false }).waitFor();
        const afterToggle = (await api('GET', '/response-rules')).data;
        const toggled = afterToggle.shipped.find((rule) => rule.ruleId === shippedRule.ruleId);
        expectEqual(`the shipped rule ${shippedRule.ruleId} enabled, through the API`, toggled?.enabled, false);
        const othersOn = afterToggle.shipped.filter((rule) => rule.ruleId !== shippedRule.ruleId).map((rule) => rule.enabled);
        expectEqual(
          'the other shipped rules, through the API',
          othersOn,
          before.shipped.filter((rule) => rule.ruleId !== shippedRule.ruleId).map((rule) => rule.enabled)
        );

        await page.reload();
        await page.getByRole('heading', { name: 'Shipped rules', exact: true }).waitFor();
        const reloaded = page.getByRole('switch', { name: toggleName(shippedRule.ruleId), exact: true });
        expectEqual(`the switch of ${shippedRule.ruleId} after a reload`, await reloaded.getAttribute('aria-checked'), 'false');
        await page.getByRole('row').filter({ hasText: customDescription }).filter({ hasText: customPattern }).waitFor();
        await screenshot(page, 'response-rules-after');
        log(`added the response rule ${customPattern}, (a+)+ refused, shipped rule ${shippedRule.ruleId} turned off`);
      },
    },
    {
      name: 'server form: allowed From domains, local address and destination limits are saved and kept',
      async run(page) {
        const serverName = `Shaped relay ${runId}`;
        const server = (
          await api('POST', '/servers', {
            name: serverName,
            host: sink.host,
            port: sink.port,
            security: 'none',
            fromAddress: 'news@example.com',
            enabled: false,
          })
        ).data;

        await page.goto(pluginPage(`/servers/${server.documentId}`));
        await page.getByRole('heading', { name: serverName, exact: true }).waitFor();
        await page.getByRole('heading', { name: 'Destination limits', exact: true }).waitFor();
        await field(page, 'Allowed From domains').fill('example.com, *.example.org');
        await field(page, 'Local address (source IP)').fill('127.0.0.1');
        await field(page, 'Limits per destination').fill('gmail: 5 conn, 600/min');
        await screenshot(page, 'server-sending-fields');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await page.getByText('Server saved', { exact: true }).first().waitFor();

        const stored = (await api('GET', `/servers/${server.documentId}`)).data;
        expectEqual('allowedFromDomains, through the API', stored.allowedFromDomains, ['example.com', '*.example.org']);
        expectEqual('localAddress, through the API', stored.localAddress, '127.0.0.1');
        expectEqual('destinationLimits.gmail, through the API', [stored.destinationLimits?.gmail?.connections, stored.destinationLimits?.gmail?.perMinute], [5, 600]);
        expectEqual('destinations limited, through the API', Object.keys(stored.destinationLimits ?? {}), ['gmail']);

        await page.reload();
        await page.getByRole('heading', { name: serverName, exact: true }).waitFor();
        expectEqual('Allowed From domains after a reload', await inputValue(page, 'Allowed From domains'), 'example.com, *.example.org');
        expectEqual('Local address after a reload', await inputValue(page, 'Local address (source IP)'), '127.0.0.1');
        expectEqual('Limits per destination after a reload', await inputValue(page, 'Limits per destination'), 'gmail: 5 conn, 600/min');
        await screenshot(page, 'server-sending-fields-kept');
        log(`the server ${serverName} keeps its From domains, local address and gmail limits`);
      },
    },
    {
      name: 'group form: sticky rotation and its period are saved and kept',
      async run(page) {
        const groupName = `Sticky pool ${runId}`;
        const group = (await api('POST', '/groups', { name: groupName, slug: `sticky-pool-${runId}` })).data;
        expectEqual('a new group rotation, through the API', group.rotation, 'message');

        await page.goto(pluginPage(`/groups/${group.documentId}`));
        await page.getByRole('heading', { name: groupName, exact: true }).waitFor();
        await chosen(page, 'Rotation', 'Per message');
        await choose(page, page, 'Rotation', 'Sticky per recipient domain');
        await field(page, 'Sticky period (minutes)').fill('45');
        await screenshot(page, 'group-rotation');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await page.getByText('Group saved', { exact: true }).first().waitFor();

        const stored = (await api('GET', `/groups/${group.documentId}`)).data;
        expectEqual('rotation and stickyMinutes, through the API', [stored.rotation, stored.stickyMinutes], ['sticky-domain', 45]);

        await page.reload();
        await page.getByRole('heading', { name: groupName, exact: true }).waitFor();
        await chosen(page, 'Rotation', 'Sticky per recipient domain');
        expectEqual('Sticky period after a reload', await inputValue(page, 'Sticky period (minutes)'), '45');
        await screenshot(page, 'group-rotation-kept');
        log(`the group ${groupName} keeps sticky rotation for 45 minutes`);
      },
    },
    {
      name: 'campaign editor: segment routing (region eu to a group) is saved and kept',
      async run(page) {
        const groupName = `EU pool ${runId}`;
        const group = (await api('POST', '/groups', { name: groupName, slug: `eu-pool-${runId}` })).data;
        const campaignName = `Segmented campaign ${runId}`;
        const campaign = (
          await api('POST', '/campaigns', {
            name: campaignName,
            subject: 'Regional news',
            fromAddress: 'news@example.com',
            html: '<p>Hello</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
          })
        ).data;
        expectEqual('a new campaign segmentRouting, through the API', campaign.segmentRouting, null);

        await page.goto(pluginPage(`/campaigns/${campaign.documentId}`));
        await page.getByRole('heading', { name: 'Segment routing', exact: true }).waitFor();
        const toggle = field(page, 'Split the audience by a subscriber attribute');
        await toggle.check();
        await field(page, 'Attribute').fill('region');
        await field(page, 'Value 1').fill('eu');
        await choose(page, page, 'Group 1', groupName);
        await screenshot(page, 'campaign-segments');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await page.getByText('Campaign saved', { exact: true }).first().waitFor();

        const stored = (await api('GET', `/campaigns/${campaign.documentId}`)).data;
        expectEqual('segmentRouting, through the API', stored.segmentRouting, {
          attribute: 'region',
          routes: [{ value: 'eu', group: group.documentId }],
          otherwise: 'campaign-group',
        });

        await page.reload();
        await page.getByRole('heading', { name: 'Segment routing', exact: true }).waitFor();
        await field(page, 'Attribute').waitFor();
        expectEqual('the segment switch after a reload', await field(page, 'Split the audience by a subscriber attribute').isChecked(), true);
        expectEqual('Attribute after a reload', await inputValue(page, 'Attribute'), 'region');
        expectEqual('Value 1 after a reload', await inputValue(page, 'Value 1'), 'eu');
        await chosen(page, 'Group 1', groupName);
        await screenshot(page, 'campaign-segments-kept');
        log(`the campaign ${campaignName} keeps region eu → ${groupName}`);
      },
    },
  ];
}

module.exports = { defineSendingTests };
