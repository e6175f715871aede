/**
 * Browser scenario: the audience pages. A mailing list is added, subscribers are imported from a
 * CSV file (one bad row reported, not imported), filtered by list and exported; a domain is
 * suppressed, found by search and removed again.
 *
 * Run by run.js after the campaign scenario, on the same logged-in page.
 */
const fs = require('node:fs');

/**
 * @param {object} context
 * @param {object} context.ui helpers from run.js: { field, buttonOrLink, screenshot, log }
 */
function defineAudienceTests({ ui }) {
  const { field, buttonOrLink, screenshot, log } = ui;
  const runId = `${process.pid}-${Date.now()}`;
  const listName = `Imported ${runId}`;
  const imported = [`new-1-${runId}@example.com`, `new-2-${runId}@example.com`];
  const badAddress = 'not-an-address';
  const domain = `blocked-${process.pid}.example`;

  /** Opens a page of the plugin from the side navigation and waits for its heading. */
  async function openPage(page, link, heading) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
  }

  /** Chooses `option` in the select labelled `label` (the design system's selects are comboboxes). */
  async function choose(scope, page, label, option) {
    await scope.getByRole('combobox', { name: new RegExp(`^${label}`) }).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  }

  return [
    {
      name: 'adds a mailing list',
      async run(page) {
        await openPage(page, 'Lists', 'Mailing lists');
        await buttonOrLink(page, 'Add list').click();
        const dialog = page.getByRole('dialog');
        await field(dialog, 'Name').fill(listName);
        await dialog.getByRole('button', { name: 'Save', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
        await page.getByRole('row').filter({ hasText: listName }).filter({ hasText: '0 subscribed of 0' }).waitFor();
      },
    },
    {
      name: 'imports subscribers from a CSV file into the list, with a per-row error report',
      async run(page) {
        await openPage(page, 'Subscribers', 'Subscribers');
        await buttonOrLink(page, 'Import CSV').click();
        const dialog = page.getByRole('dialog');
        const csv = [
          'email,name,city',
          `${imported[0]},New One,Nice`,
          // Upper case and spaces: stored normalised.
          ` ${imported[1].toUpperCase()} ,New Two,Lille`,
          `${badAddress},Bad Row,Paris`,
        ].join('\n');
        await dialog.locator('input[type="file"]').setInputFiles({
          name: 'subscribers.csv',
          mimeType: 'text/csv',
          buffer: Buffer.from(`${csv}\n`),
        });
        await dialog.getByRole('combobox', { name: /^Add to lists/ }).click();
        await page.getByRole('option', { name: listName, exact: true }).click();
        await page.keyboard.press('Escape');
        await dialog.getByRole('button', { name: 'Import', exact: true }).click();

        await dialog.getByText('3 rows read: 2 created, 0 updated, 1 skipped.').waitFor();
        await dialog.getByText('Import finished; 1 row was refused').waitFor();
        const errorRow = dialog.getByRole('row').filter({ hasText: 'email' }).filter({ has: page.getByText('4', { exact: true }) });
        await errorRow.waitFor();
        await screenshot(page, 'subscribers-imported');
        await dialog.getByRole('button', { name: 'Close', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
      },
    },
    {
      name: 'filters subscribers by list and exports exactly them as CSV',
      async run(page) {
        await choose(page, page, 'List', listName);
        await page.getByText('2 subscribers', { exact: true }).waitFor();
        for (const address of imported) {
          await page.getByRole('row').filter({ hasText: address }).filter({ hasText: 'Subscribed' }).waitFor();
        }
        await screenshot(page, 'subscribers-filtered');

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Export CSV', exact: true }).click(),
        ]);
        const file = fs.readFileSync(await download.path(), 'utf8');
        const lines = file.trim().split(/\r?\n/);
        if (!/^"?email"?,/.test(lines[0])) throw new Error(`the export's header is "${lines[0]}"`);
        const rows = lines.slice(1);
        if (rows.length !== 2 || !imported.every((address) => rows.some((row) => row.includes(address)))) {
          throw new Error(`the export holds ${rows.length} rows:\n${file}`);
        }
        log(`exported ${download.suggestedFilename()}: ${rows.length} subscribers`);
      },
    },
    {
      name: 'suppresses a whole domain, finds it by search and removes it',
      async run(page) {
        await openPage(page, 'Suppressions', 'Suppressions');
        await buttonOrLink(page, 'Add suppression').click();
        const dialog = page.getByRole('dialog');
        await field(dialog, 'Address or domain').fill(domain);
        await field(dialog, 'Note').fill('Added by the browser test');
        await dialog.getByRole('button', { name: 'Add', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });

        await page.getByPlaceholder('Search by address, domain, source or note').fill(domain);
        const row = page.getByRole('row').filter({ hasText: domain }).filter({ hasText: 'Whole domain' });
        await row.waitFor();
        await screenshot(page, 'suppression-added');

        await row.getByRole('button', { name: `Remove ${domain}` }).click();
        const confirm = page.getByRole('alertdialog');
        await confirm.getByRole('button', { name: 'Confirm', exact: true }).click();
        await page.getByText('No suppression matches this search.').waitFor();
      },
    },
  ];
}

module.exports = { defineAudienceTests };
