/**
 * Browser scenario: an editor composes a campaign, sends a test, starts it, pauses it, resumes it
 * and watches the progress bar reach the end; the SMTP sink gets one message per subscriber.
 *
 * Run by run.js after its own tests (it reuses their page, logged in, and the server they added,
 * which points at the sink). The audience (a mailing list and its subscribers) and a group for the
 * server are made through the admin API, as the editor would find them already there; the server
 * gets a low rate (RATE_PER_SECOND) so that sending takes long enough for a pause to be seen.
 */

const SUBSCRIBERS = 30;
const RATE_PER_SECOND = 2;
/** How long the progress must stay still while paused to count as paused. */
const PAUSE_OBSERVATION_MS = 4000;
/**
 * Within this time after the pause the progress must stop: the messages already past the gate (up
 * to the worker's concurrency, 10) go out at RATE_PER_SECOND, 5 s, then nothing.
 */
const PAUSE_DRAIN_TIMEOUT_MS = 15 * 1000;
/** Sending SUBSCRIBERS at RATE_PER_SECOND takes 15 s; leave room for a busy machine. */
const SENDING_TIMEOUT_MS = 90 * 1000;

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * @param {object} context
 * @param {object} context.sink          the capturing SMTP server (run.js)
 * @param {string} context.serverName    the server run.js's test added, pointing at the sink
 * @param {object} context.ui            run.js's helpers: field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, and the admin API's api() and call() (admin-api.js)
 */
function defineCampaignTests({ sink, serverName, ui }) {
  const { field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, api } = ui;
  const runId = `${process.pid}-${Date.now()}`;
  const campaignName = `Browser campaign ${runId}`;
  const subject = `Spring news ${runId}`;
  const fromAddress = 'news@example.com';
  const testAddress = 'editor-test@example.com';
  const listName = `Browser list ${runId}`;
  const subscriberAddress = (index) => `reader-${String(index).padStart(2, '0')}-${process.pid}@example.com`;


  /** The campaign page's progress bar value (0-100), read from its ARIA attributes. */
  async function progressValue(page) {
    const bar = page.getByRole('progressbar', { name: `Progress of ${campaignName}` });
    const value = await bar.getAttribute('aria-valuenow');
    return Number(value ?? 0);
  }

  /** Waits until the status badge of the campaign page says `status`, and brings it into view. */
  async function waitForStatus(page, status, timeout = UI_TIMEOUT_MS) {
    const badge = page.getByTestId('campaign-status');
    await badge.getByText(status, { exact: true }).waitFor({ timeout });
    await badge.scrollIntoViewIfNeeded();
  }

  /** Clicks a header action, then "Confirm" in its confirmation dialog. */
  async function confirmAction(page, label) {
    await page.getByRole('button', { name: label, exact: true }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'Confirm', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  const progressSeen = [];

  return [
    {
      name: 'campaign setup: a group for the server (2 messages/s), a mailing list and its subscribers, through the admin API',
      async run() {
        const group = await api('POST', '/groups', {
          name: `Campaign group ${runId}`,
          slug: `campaigns-${process.pid}`,
          strategy: 'weighted',
          isDefault: true,
        });
        const servers = await api('GET', `/servers?q=${encodeURIComponent(serverName)}`);
        const server = servers.data.find((candidate) => candidate.name === serverName);
        if (!server) throw new Error(`the server "${serverName}" added by the earlier test is not listed`);
        await api('PUT', `/servers/${server.documentId}`, { group: group.data.documentId, ratePerSecond: RATE_PER_SECOND });

        const list = await api('POST', '/lists', { name: listName, description: 'Made by the browser test' });
        for (let index = 1; index <= SUBSCRIBERS; index += 1) {
          await api('POST', '/subscribers', {
            email: subscriberAddress(index),
            name: `Reader ${index}`,
            lists: [list.data.documentId],
            attributes: { city: index % 2 ? 'Paris' : 'Lyon' },
          });
        }
        log(`made group "${group.data.name}", list "${listName}" with ${SUBSCRIBERS} subscribers; ${serverName} sends ${RATE_PER_SECOND}/s`);
      },
    },
    {
      name: 'composes a campaign: content with a live preview, the list as audience with its count, the group',
      async run(page) {
        await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
        await page.getByRole('heading', { name: 'Campaigns', exact: true }).waitFor();
        await buttonOrLink(page, 'New campaign').click();
        await page.waitForURL(/\/plugins\/multi-smtp\/campaigns\/new$/);

        await field(page, 'Name').fill(campaignName);
        await field(page, 'From name').fill('Browser Test News');
        await field(page, 'From address').fill(fromAddress);
        await field(page, 'Subject').fill(`${subject} for {{ recipient.name | default: "you" }}`);
        await field(page, 'Preheader').fill('What is new this spring');
        await field(page, 'HTML body').fill(
          '<h1>Hello {{ recipient.name | default: "there" }}</h1>\n<p>News for {{ recipient.attributes.city | default: "your city" }}.</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        );

        // A template error is shown under its field with its line and column, before anything is saved.
        await field(page, 'Text body').fill('Hello {{ recipient.name');
        const templateError = page.getByText(/Line 1, column \d+/).first();
        await templateError.waitFor();
        await templateError.scrollIntoViewIfNeeded();
        await screenshot(page, 'campaign-template-error');
        await field(page, 'Text body').fill('');

        // Audience: the list, with its live count.
        await page.getByRole('combobox', { name: /^Mailing lists/ }).click();
        await page.getByRole('option', { name: new RegExp(`^${listName}`) }).click();
        await page.keyboard.press('Escape');
        await page.getByTestId('audience-count').getByText(`${SUBSCRIBERS} recipients`, { exact: false }).waitFor();

        // Group: the one the sink's server is in.
        await page.getByRole('combobox', { name: /^Server group/ }).click();
        await page.getByRole('option', { name: `Campaign group ${runId}`, exact: true }).click();

        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await page.waitForURL(/\/plugins\/multi-smtp\/campaigns\/(?!new$)[^/]+$/);
        await page.getByRole('heading', { name: campaignName }).waitFor();

        // The sandboxed preview renders the saved campaign with sample data.
        const preview = page.frameLocator('iframe[title="HTML preview"]');
        await preview.getByRole('heading', { name: 'Hello Preview' }).waitFor();
        const sandbox = await page.locator('iframe[title="HTML preview"]').getAttribute('sandbox');
        if (sandbox !== '') throw new Error(`the preview iframe is not fully sandboxed (sandbox="${sandbox}")`);
        await page.locator('iframe[title="HTML preview"]').scrollIntoViewIfNeeded();
        await screenshot(page, 'campaign-composed');
      },
    },
    {
      name: 'sends a test of the campaign and sees it accepted; the sink gets it',
      async run(page) {
        await page.getByRole('button', { name: 'Send test', exact: true }).click();
        const dialog = page.getByRole('dialog');
        await field(dialog, 'Send to').fill(testAddress);
        await dialog.getByRole('button', { name: 'Send test', exact: true }).click();
        await dialog.getByText('Accepted', { exact: true }).waitFor();
        await screenshot(page, 'campaign-test-accepted');

        const received = await sink.waitForMessage(
          (message) => message.envelopeTo.includes(testAddress) && message.subject.includes(subject),
          UI_TIMEOUT_MS
        );
        log(`the sink received the test "${received.subject}"`);
        if (!received.subject.startsWith('[Test]')) throw new Error(`the test's subject is "${received.subject}"`);

        await dialog.getByRole('button', { name: 'Close', exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
      },
    },
    {
      name: 'starts the campaign and sees the progress bar move',
      async run(page) {
        await confirmAction(page, 'Start sending');
        await waitForStatus(page, 'Sending');
        const deadline = Date.now() + SENDING_TIMEOUT_MS;
        let value = 0;
        while (Date.now() < deadline && value <= 0) {
          await page.waitForTimeout(250);
          value = await progressValue(page);
        }
        if (value <= 0) throw new Error('the progress bar did not move');
        if (value >= 100) throw new Error('the campaign finished before it could be paused: raise SUBSCRIBERS or lower RATE_PER_SECOND');
        progressSeen.push(value);
        log(`progress ${value} % while sending`);
        await screenshot(page, 'campaign-sending');
      },
    },
    {
      name: 'pauses the campaign: the progress stops short of the end',
      async run(page) {
        await confirmAction(page, 'Pause');
        const pausedAt = Date.now();
        await waitForStatus(page, 'Paused');
        // Messages that had passed the campaign gate before the pause (each worker slot holds one,
        // waiting for the server's rate) still go out; after that nothing moves.
        let after = await progressValue(page);
        let stillSince = Date.now();
        while (Date.now() - stillSince < PAUSE_OBSERVATION_MS) {
          if (Date.now() - pausedAt > PAUSE_DRAIN_TIMEOUT_MS) {
            throw new Error(`the progress still moved ${seconds(PAUSE_DRAIN_TIMEOUT_MS)} after the pause (now ${after} %)`);
          }
          await page.waitForTimeout(250);
          const value = await progressValue(page);
          if (value !== after) {
            after = value;
            stillSince = Date.now();
          }
        }
        if (after >= 100) throw new Error('the campaign finished although it was paused');
        log(`paused at ${after} %; nothing moved after ${seconds(stillSince - pausedAt)}`);
        progressSeen.push(after);
        await screenshot(page, 'campaign-paused');
      },
    },
    {
      name: 'resumes the campaign: the progress bar reaches the end, every subscriber got the mail once',
      async run(page) {
        await confirmAction(page, 'Resume');
        await waitForStatus(page, 'Completed', SENDING_TIMEOUT_MS);
        const value = await progressValue(page);
        if (value !== 100) throw new Error(`the campaign completed with the progress bar at ${value} %`);
        progressSeen.push(value);
        log(`progress seen: ${progressSeen.join(' % -> ')} %`);
        await screenshot(page, 'campaign-completed');

        const expected = Array.from({ length: SUBSCRIBERS }, (_, index) => subscriberAddress(index + 1));
        const deadline = Date.now() + UI_TIMEOUT_MS;
        let campaignMail = [];
        while (Date.now() < deadline) {
          campaignMail = sink.messages.filter((message) => message.subject.startsWith(subject));
          if (campaignMail.length >= SUBSCRIBERS) break;
          await page.waitForTimeout(250);
        }
        const recipients = campaignMail.flatMap((message) => message.envelopeTo).sort();
        const missing = expected.filter((address) => !recipients.includes(address));
        const twice = recipients.filter((address, index) => recipients[index - 1] === address);
        if (missing.length > 0 || twice.length > 0 || recipients.length !== SUBSCRIBERS) {
          throw new Error(
            `the sink got ${recipients.length} campaign messages for ${SUBSCRIBERS} subscribers` +
              `${missing.length ? `; missing: ${missing.join(', ')}` : ''}${twice.length ? `; twice: ${twice.join(', ')}` : ''}`
          );
        }
        const sample = campaignMail.find((message) => message.envelopeTo.includes(subscriberAddress(3)));
        if (sample.subject !== `${subject} for Reader 3`) throw new Error(`merge tags not filled in: "${sample.subject}"`);
        if (!sample.html.includes('News for Paris')) throw new Error('the attribute merge tag was not filled in');
        log(`the sink received the campaign once for each of the ${SUBSCRIBERS} subscribers`);

        // The list shows it completed.
        await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
        await page.getByRole('row').filter({ hasText: campaignName }).filter({ hasText: 'Completed' }).waitFor();
        await screenshot(page, 'campaign-listed');
      },
    },
  ];
}

module.exports = { defineCampaignTests };
