/**
 * Browser scenario: routing rules. Seeded through the admin API: a group "Pool B" with a server
 * that delivers to run.js's sink, and a rule "Gmail via pool B" sending gmail.com mail to it. In
 * the browser: the Routing rules page lists the rule; the admin opens it, changes its recipient
 * domain to outlook.com and saves; the list shows the new condition; the tester then says a
 * message to an outlook.com address goes by that rule to Pool B, with the pool's server able to
 * take it, while a gmail.com address now goes to the default group.
 */

/**
 * @param {object} context
 * @param {{ host: string, port: number }} context.sink  run.js's SMTP sink
 * @param {object} context.ui          run.js's helpers: field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, and the admin API's api() and call() (admin-api.js)
 */
function defineRoutingTests({ sink, ui }) {
  const { field, screenshot, log, api } = ui;
  const runId = `${process.pid}`;
  const groupName = `Pool B ${runId}`;
  const serverName = `Pool B relay ${runId}`;
  const ruleName = `Gmail via pool B ${runId}`;


  /** Runs the tester for one address and waits for its answer to say `summary`. */
  async function testRouting(page, to, summary) {
    const tester = page.getByRole('form', { name: 'Where would this message go?' });
    await field(tester, 'To').fill(to);
    await tester.getByRole('button', { name: 'Test routing', exact: true }).click();
    const result = tester.getByRole('status', { name: 'Routing decision' });
    await result.getByText(summary, typeof summary === 'string' ? { exact: true } : undefined).waitFor();
    return result;
  }

  return [
    {
      name: 'edits a routing rule and sees the tester route a message by it',
      async run(page) {
        const group = (await api('POST', '/groups', { name: groupName, slug: `pool-b-${runId}` })).data;
        await api('POST', '/servers', {
          name: serverName,
          host: sink.host,
          port: sink.port,
          security: 'none',
          fromAddress: 'news@example.com',
          group: group.documentId,
        });
        await api('POST', '/routing-rules', {
          name: ruleName,
          conditions: { recipientDomains: ['gmail.com'] },
          target: { kind: 'group', id: group.documentId },
        });
        log(`seeded the group ${groupName} and the rule ${ruleName}`);

        await page.getByRole('link', { name: 'Routing rules', exact: true }).click();
        await page.getByRole('heading', { name: 'Routing rules', exact: true }).waitFor();
        const row = page.getByRole('row').filter({ hasText: ruleName });
        await row.filter({ hasText: 'to gmail.com' }).filter({ hasText: `group ${groupName}` }).waitFor();

        await row.getByRole('button', { name: `Edit ${ruleName}`, exact: true }).click();
        const dialog = page.getByRole('dialog');
        const domains = field(dialog, 'Recipient domain');
        await domains.fill('outlook.com, *.outlook.com');
        await screenshot(page, 'routing-rule-edited');
        await dialog.getByRole('button', { name: 'Save', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
        await page.getByRole('row').filter({ hasText: ruleName }).filter({ hasText: 'to outlook.com, *.outlook.com' }).waitFor();

        const result = await testRouting(page, 'ann@eu.outlook.com', `Rule '${ruleName}' → group ${groupName}`);
        await result.getByRole('row').filter({ hasText: serverName }).filter({ hasText: 'yes' }).waitFor();
        await screenshot(page, 'routing-tester');
        await testRouting(page, 'bob@gmail.com', /^No rule matched: default → group /);
        log('the tester routes outlook.com mail by the edited rule, gmail.com mail to the default group');
      },
    },
  ];
}

module.exports = { defineRoutingTests };
