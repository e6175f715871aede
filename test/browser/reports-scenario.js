/**
 * Browser scenario: the deliverability pages with real data behind them.
 *
 * Seeding, all through the running Strapi (no shortcut into its database):
 * - a relay whose SMTP sink refuses 10 % of recipients at RCPT (550 5.1.1 and 550 5.7.1), in a group
 *   of its own, and a campaign of REPORT_SUBSCRIBERS subscribers sent through it: the engine counts
 *   accepted mail, synchronous hard bounces and latency; past the protection window's minimum
 *   (100 sends) the bounce rate crosses 5 % and automatic protection pauses the relay with an alert;
 * - an ARF complaint and a DSN soft bounce about messages of the earlier campaign (run.js's sink
 *   captured them), posted to the inbound endpoint with its token;
 * - when the build has open and click tracking, a few opens and a click through the tracked links
 *   of the captured mail (not asserted: the tracking has its own tests).
 *
 * Then, in the browser: the reports overview (charts drawn with data, totals, the bad relay flagged
 * in the comparison table and drawn red in the bounce-rate chart, a CSV export), the relay's report
 * (series and latency charts, its alert), the campaign report reached from the campaign page
 * (funnel, bounce reasons, per-server split), the delivery log (the refused messages with their
 * SMTP replies, a message found by its id, a CSV export), and the alerts page (evidence, Lift with
 * confirmation), after which the paused relay sends the rest of the campaign.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');

const { SMTPServer } = require('smtp-server');

const REPORT_SUBSCRIBERS = 120;
/** Every 10th subscriber (5, 15, 25 ...) is refused: 10 %, twice the default 5 % threshold. */
const isRefused = (index) => index % 10 === 5;
/** Half of them as unknown users (5.1.1), half as policy refusals (5.7.1). */
const refusalOf = (index, address) =>
  index % 20 === 5
    ? `5.1.1 <${address}>: Recipient address rejected: User unknown in virtual mailbox table`
    : `5.7.1 <${address}>: Recipient address rejected: Access denied`;
/** The campaign goes out at once; protection needs 100 sends before it judges. */
const ALERT_TIMEOUT_MS = 90 * 1000;
/** After the lift, waiting messages look for a server again within a minute. */
const COMPLETION_TIMEOUT_MS = 150 * 1000;
const CHART_ANIMATION_MS = 700;
const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An SMTP sink on 127.0.0.1 that accepts everything except recipients named refuse-<n>@..., refused at RCPT with 550. */
async function startRefusingSink() {
  const received = [];
  const refused = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    banner: 'reports test sink (refuses refuse-* recipients)',
    closeTimeout: 100,
    logger: false,
    onRcptTo(address, _session, callback) {
      const match = /^refuse-(\d+)/.exec(address.address);
      if (!match) return callback();
      refused.push(address.address);
      const error = new Error(refusalOf(Number(match[1]), address.address));
      error.responseCode = 550;
      return callback(error);
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        received.push({
          envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return {
    host: '127.0.0.1',
    port: server.server.address().port,
    received,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The header block of a raw message (up to the first empty line), LF line ends. */
const headerBlockOf = (raw) => raw.replace(/\r\n/g, '\n').split('\n\n')[0];

/** An ARF feedback report (RFC 5965) about a message, with its returned headers. */
const arfReport = ({ recipient, returnedHeaders }) => {
  const boundary = `arf-${crypto.randomBytes(6).toString('hex')}`;
  return [
    'From: fbl@isp.example',
    'To: fbl-reports@example.com',
    `Date: ${new Date().toUTCString()}`,
    'Subject: Email Feedback Report',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    `Message-ID: <fbl-${boundary}@isp.example>`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    '',
    'This is an email abuse report for an email message received from IP address 192.0.2.89.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: ISP-FBL/1.0',
    'Version: 1',
    `Original-Rcpt-To: <${recipient}>`,
    'Source-IP: 192.0.2.89',
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    returnedHeaders,
    '',
    'The message body.',
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
};

/** A Postfix DSN (RFC 3464) giving up on a message with a temporary status (4.2.2 mailbox full): a soft bounce. */
const softBounceDsn = ({ recipient, returnedHeaders }) => {
  const boundary = `dsn-${crypto.randomBytes(6).toString('hex')}`;
  return [
    'Return-Path: <>',
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    'To: bounces@example.com',
    `Date: ${new Date().toUTCString()}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    `Message-Id: <${boundary}@mx.example.net>`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `<${recipient}>: host mail.example.org[192.0.2.10] said: 452 4.2.2 Mailbox full`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 4.2.2',
    'Remote-MTA: dns; mail.example.org',
    'Diagnostic-Code: smtp; 452 4.2.2 Mailbox full',
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    returnedHeaders,
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
};

/** The number a figure card shows ("1,234" -> 1234, "10.5%" -> 10.5). */
const numberIn = (text) => Number(String(text).replace(/[^\d.]/g, ''));

/**
 * @param {object} context
 * @param {string} context.baseUrl
 * @param {object} context.sink            run.js's capturing sink (it got the earlier campaign)
 * @param {string} context.inboundToken    the inbound endpoint's token (config bounces.inboundToken)
 * @param {(cleanup: () => Promise<void>) => void} context.onCleanup
 * @param {object} context.ui              run.js's helpers: field, buttonOrLink, screenshot, log, UI_TIMEOUT_MS, and the admin API's api() and call() (admin-api.js)
 */
function defineReportsTests({ baseUrl, sink, inboundToken, onCleanup, ui }) {
  const { buttonOrLink, screenshot, log, UI_TIMEOUT_MS, api } = ui;
  const runId = `${process.pid}-${Date.now()}`;
  const relayName = `Reports relay ${process.pid}`;
  const campaignName = `Reports campaign ${runId}`;
  const subject = `Deliverability check ${runId}`;
  const address = (index) =>
    `${isRefused(index) ? 'refuse' : 'reader'}-${String(index).padStart(3, '0')}-${process.pid}@example.com`;
  const refusedCount = Array.from({ length: REPORT_SUBSCRIBERS }, (_, offset) => offset + 1).filter(isRefused).length;
  const seeded = { relayId: '', campaignId: '', alertId: '', complainedAbout: '', refusedMessageId: '' };


  async function postInbound(message) {
    const response = await fetch(`${baseUrl}/api/multi-smtp/inbound`, {
      method: 'POST',
      headers: { authorization: `Bearer ${inboundToken}`, 'content-type': 'message/rfc822' },
      body: message,
      signal: AbortSignal.timeout(UI_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST /api/multi-smtp/inbound: HTTP ${response.status} ${text}`);
    return JSON.parse(text).data;
  }

  async function until(what, check, timeoutMs, everyMs = 500) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      last = await check();
      if (last) return last;
      await sleep(everyMs);
    }
    throw new Error(`Timed out after ${seconds(timeoutMs)}: ${what}`);
  }

  /** Opens a page of the plugin from its side navigation and waits for its heading. */
  async function openFromNav(page, linkName, heading) {
    await page.getByRole('link', { name: linkName, exact: true }).click();
    await page.getByRole('heading', { name: heading, exact: true }).first().waitFor();
  }

  /** How many SVG elements match inside a test id's box, once at least `min` are there. */
  async function drawn(page, testId, selector, min = 1) {
    const locator = page.getByTestId(testId).locator(selector);
    await until(`${min}+ "${selector}" drawn in ${testId}`, async () => (await locator.count()) >= min, UI_TIMEOUT_MS, 250);
    return locator.count();
  }

  /** A screenshot once the charts have drawn themselves (their animation takes half a second). */
  async function shot(page, name) {
    await page.waitForTimeout(CHART_ANIMATION_MS);
    await screenshot(page, name);
  }

  async function figure(page, key) {
    const value = page.getByTestId(`figure-${key}`).locator('dd');
    await value.waitFor();
    return (await value.textContent()).trim();
  }

  async function download(page, scope) {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      scope.getByRole('button', { name: 'Export CSV', exact: true }).click(),
    ]);
    const text = fs.readFileSync(await file.path(), 'utf8').replace(/^\uFEFF/, '');
    return { name: file.suggestedFilename(), lines: text.trim().split(/\r?\n/) };
  }

  return [
    {
      name: 'reports setup: a relay refusing 10 % of recipients sends a campaign and is paused by protection; a complaint and a soft bounce are posted to the inbound endpoint',
      async run() {
        const badSink = await startRefusingSink();
        onCleanup(() => badSink.close());

        const group = await api('POST', '/groups', {
          name: `Reports group ${runId}`,
          slug: `reports-${process.pid}`,
          strategy: 'weighted',
        });
        const relay = await api('POST', '/servers', {
          name: relayName,
          host: badSink.host,
          port: badSink.port,
          security: 'none',
          group: group.data.documentId,
        });
        seeded.relayId = relay.data.documentId;

        const list = await api('POST', '/lists', { name: `Reports list ${runId}`, description: 'Made by the browser test' });
        const indexes = Array.from({ length: REPORT_SUBSCRIBERS }, (_, offset) => offset + 1);
        for (let start = 0; start < indexes.length; start += 10) {
          await Promise.all(
            indexes.slice(start, start + 10).map((index) =>
              api('POST', '/subscribers', { email: address(index), name: `Reader ${index}`, lists: [list.data.documentId] })
            )
          );
        }

        const campaign = await api('POST', '/campaigns', {
          name: campaignName,
          subject,
          fromName: 'Reports Test',
          fromAddress: 'reports@example.com',
          html: '<h1>Hello {{ recipient.name }}</h1><p><a href="https://example.com/spring-sale">See the spring sale</a></p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
          group: group.data.documentId,
          audience: { type: 'lists', lists: [list.data.documentId] },
          trackOpens: true,
          trackClicks: true,
        });
        seeded.campaignId = campaign.data.documentId;
        await api('POST', `/campaigns/${seeded.campaignId}/start`, {});
        log(`started "${campaignName}" to ${REPORT_SUBSCRIBERS} subscribers (${refusedCount} refused at RCPT) through ${relayName}`);

        const alert = await until(
          'protection to pause the relay with an alert',
          async () => (await api('GET', `/alerts?status=active&server=${seeded.relayId}`)).data[0],
          ALERT_TIMEOUT_MS
        );
        seeded.alertId = alert.documentId;
        log(`protection: ${alert.summary} (sink: ${badSink.received.length} accepted, ${badSink.refused.length} refused)`);

        // A complaint and a soft bounce about mail of the earlier campaign (run.js's sink has it).
        const earlier = sink.messages.filter((message) => /X-Multi-SMTP-ID:/i.test(message.raw) && !message.subject.startsWith('[Test]'));
        if (earlier.length < 2) throw new Error(`run.js's sink holds ${earlier.length} messages of the earlier tests`);
        const [complained, bounced] = earlier.slice(-2);
        seeded.complainedAbout = complained.envelopeTo[0];
        const complaint = await postInbound(arfReport({ recipient: complained.envelopeTo[0], returnedHeaders: headerBlockOf(complained.raw) }));
        const softBounce = await postInbound(softBounceDsn({ recipient: bounced.envelopeTo[0], returnedHeaders: headerBlockOf(bounced.raw) }));
        log(`inbound: ${JSON.stringify(complaint.summary ?? complaint)}; ${JSON.stringify(softBounce.summary ?? softBounce)}`);

        // Open and click tracking, when this build has it: a few human opens and a click.
        const tracked = badSink.received.filter((message) => /\/track\/open\//.test(message.raw)).slice(0, 5);
        let opened = 0;
        for (const message of tracked) {
          const body = message.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
          const pixel = /https?:\/\/[^"'\s>]+\/track\/open\/[^"'\s>]+/.exec(body);
          const click = /https?:\/\/[^"'\s>]+\/track\/click\/[^"'\s>]+/.exec(body);
          if (pixel) opened += (await fetch(pixel[0], { headers: { 'user-agent': BROWSER_UA } })).ok ? 1 : 0;
          if (click && opened === 1) await fetch(click[0], { headers: { 'user-agent': BROWSER_UA }, redirect: 'manual' });
        }
        log(tracked.length ? `tracking: opened ${opened} tracked messages, clicked one link` : 'tracking: the mail carries no tracking links (not in this build)');

        // Statistics are written about once a second: wait until the report has them all.
        const totals = await until(
          'the overview report to count the bounces and the complaint',
          async () => {
            const { data } = await api('GET', '/reports/overview');
            return data.totals.hardBounce >= 5 && data.totals.complaint >= 1 && data.totals.softBounce >= 1 ? data.totals : null;
          },
          UI_TIMEOUT_MS
        );
        log(`overview totals: ${totals.accepted} accepted, ${totals.hardBounce} hard and ${totals.softBounce} soft bounces, ${totals.complaint} complaint(s), ${totals.openHumanUnique} unique opens`);
        const refusedMessage = (await api('GET', `/messages?recipient=refuse-&campaign=${seeded.campaignId}&status=bounced&pageSize=1`)).data[0];
        if (!refusedMessage) throw new Error('no bounced message of the campaign in the delivery log');
        seeded.refusedMessageId = refusedMessage.id;
      },
    },
    {
      name: 'opens the reports overview: the charts render with data, the totals show numbers, the bad relay stands out, the servers table exports as CSV',
      async run(page) {
        await openFromNav(page, 'Reports', 'Reports');
        await page.getByRole('combobox', { name: /^Time range/ }).click();
        await page.getByRole('option', { name: 'Last 24 hours', exact: true }).click();
        await page.waitForURL(/range=24h/);

        const accepted = numberIn(await figure(page, 'accepted'));
        if (!(accepted >= 100)) throw new Error(`the Accepted figure shows ${accepted}`);
        const bounceRate = await figure(page, 'bounceRate');
        const complaintRate = await figure(page, 'complaintRate');
        if (!(numberIn(bounceRate) > 0)) throw new Error(`the bounce rate figure shows "${bounceRate}"`);

        // recharts drew the series: an area for the accepted mail, lines for bounces and complaints.
        const areas = await drawn(page, 'chart-sending', '.recharts-area-area');
        const lines = await drawn(page, 'chart-problems', '.recharts-line-curve', 3);
        const points = await drawn(page, 'chart-problems', '.recharts-line-dots circle, .recharts-line-dot');
        // The per-server comparison: one bar per server with sends, the relay's bounce-rate bar in red.
        const bars = await drawn(page, 'chart-server-bounce-rate', '.recharts-bar-rectangle path', 2);
        const redBars = await drawn(page, 'chart-server-bounce-rate', '.recharts-bar-rectangle path[fill="#d02b20"]');
        const latencyBars = await drawn(page, 'chart-server-latency', '.recharts-bar-rectangle path');
        log(
          `overview: accepted ${accepted}, bounce rate ${bounceRate}, complaint rate ${complaintRate}; drawn: ${areas} area(s), ${lines} lines (${points} points), ${bars} bounce-rate bars (${redBars} red), ${latencyBars} latency bars`
        );

        const relayRow = page.getByTestId('report-servers').getByRole('row').filter({ hasText: relayName });
        await relayRow.getByText('Above threshold', { exact: true }).waitFor();
        await relayRow.getByText('Active alert', { exact: true }).waitFor();
        await page.getByTestId('active-alerts-notice').waitFor();
        await page.getByTestId('report-servers').scrollIntoViewIfNeeded();
        await shot(page, 'reports-overview-servers');
        await page.getByTestId('report-series').scrollIntoViewIfNeeded();
        await shot(page, 'reports-overview');

        const csv = await download(page, page.getByTestId('report-servers'));
        if (!/serverId/.test(csv.lines[0]) || !csv.lines.some((line) => line.includes(relayName))) {
          throw new Error(`the servers CSV ${csv.name} reads:\n${csv.lines.slice(0, 3).join('\n')}`);
        }
        const seriesCsv = await download(page, page.getByTestId('report-series'));
        if (!/^"?at"?,/.test(seriesCsv.lines[0]) || seriesCsv.lines.length < 24) {
          throw new Error(`the series CSV ${seriesCsv.name} has ${seriesCsv.lines.length} lines, header ${seriesCsv.lines[0]}`);
        }
        log(`exported ${csv.name} (${csv.lines.length - 1} servers) and ${seriesCsv.name} (${seriesCsv.lines.length - 1} hours)`);
      },
    },
    {
      name: "opens the relay's report from the comparison table: series and latency charts, its alert",
      async run(page) {
        await page.getByTestId('report-servers').getByRole('link', { name: relayName, exact: true }).click();
        await page.waitForURL(/\/plugins\/multi-smtp\/reports\/servers\/[^/?]+\?range=24h/);
        await page.getByRole('heading', { name: relayName }).waitFor();
        const areas = await drawn(page, 'chart-sending', '.recharts-area-area');
        const latencyBars = await drawn(page, 'chart-latency', '.recharts-bar-rectangle path', 2);
        const p95 = await figure(page, 'latencyP95');
        const hardBounceRate = await figure(page, 'bounceRate');
        await page.getByTestId('report-server-alerts').getByRole('row').filter({ hasText: 'Bounce rate' }).waitFor();
        await page.getByTestId('report-latency').scrollIntoViewIfNeeded();
        await shot(page, 'reports-server');
        log(`relay report: bounce rate ${hardBounceRate}, latency p95 ${p95}; drawn ${areas} area(s), ${latencyBars} latency bars`);
      },
    },
    {
      name: "opens the campaign's report from its page: funnel, bounce reasons with the SMTP replies, per-server split",
      async run(page) {
        await openFromNav(page, 'Campaigns', 'Campaigns');
        await page.getByRole('row').filter({ hasText: campaignName }).click();
        await page.getByRole('heading', { name: campaignName }).waitFor();
        await buttonOrLink(page, 'Report').click();
        await page.waitForURL(/\/plugins\/multi-smtp\/reports\/campaigns\/[^/]+$/);
        await page.getByRole('heading', { name: campaignName }).waitFor();

        const recipients = numberIn(await figure(page, 'recipients'));
        if (recipients !== REPORT_SUBSCRIBERS) throw new Error(`the report counts ${recipients} recipients`);
        const bounces = numberIn(await figure(page, 'bounces'));
        if (bounces < 5) throw new Error(`the report counts ${bounces} bounces`);
        const funnelBars = await drawn(page, 'chart-funnel', '.recharts-bar-rectangle path', 3);
        const serverBars = await drawn(page, 'chart-campaign-servers', '.recharts-bar-rectangle path', 2);
        const reasons = page.getByTestId('report-bounce-reasons');
        await reasons.getByRole('row').filter({ hasText: '5.1.1' }).filter({ hasText: 'User unknown' }).waitFor();
        await reasons.getByRole('row').filter({ hasText: '5.7.1' }).filter({ hasText: 'Access denied' }).waitFor();
        const opens = await figure(page, 'opens');
        await shot(page, 'reports-campaign');
        await reasons.scrollIntoViewIfNeeded();
        await shot(page, 'reports-campaign-reasons');

        const csv = await download(page, reasons);
        if (!/^"?reason"?,/.test(csv.lines[0]) || csv.lines.length < 3) throw new Error(`the bounce reasons CSV reads:\n${csv.lines.join('\n')}`);
        log(`campaign report: ${recipients} recipients, ${bounces} bounces, ${opens} unique opens; drawn ${funnelBars} funnel bars, ${serverBars} server bars; ${csv.lines.length - 1} bounce reasons exported`);
      },
    },
    {
      name: 'the delivery log shows the refused messages with their SMTP replies, finds one by its message id and exports the filter as CSV',
      async run(page) {
        await openFromNav(page, 'Delivery log', 'Delivery log');
        const search = page.getByPlaceholder('Recipient address or message ID');
        await search.fill(`refuse-`);
        await search.press('Enter');
        await page.waitForURL(/recipient=refuse-/);
        await page.getByRole('combobox', { name: /^Campaign/ }).click();
        await page.getByRole('option', { name: campaignName, exact: true }).click();
        await page.waitForURL(/campaign=/);
        const rows = page.getByRole('row').filter({ hasText: 'Bounced' });
        await rows.first().getByText(/^550 5\.[17]\.1 /).waitFor();
        const shown = await rows.count();
        await shot(page, 'delivery-log-refused');

        await rows.first().click();
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('row').filter({ hasText: 'Recipient refused' }).getByText(/^550 5\.[17]\.1 /).waitFor();
        await shot(page, 'delivery-log-message');
        await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
        await dialog.waitFor({ state: 'hidden' });

        // Every refused recipient of the campaign is in the export; those already tried (the relay was
        // paused before the last ones) carry their 550 reply.
        const csv = await download(page, page);
        const refusedRows = csv.lines.slice(1);
        const bouncedRows = refusedRows.filter((line) => line.includes(',bounced,'));
        if (
          !/^"?id"?,/.test(csv.lines[0]) ||
          refusedRows.length !== refusedCount ||
          bouncedRows.length < 5 ||
          !bouncedRows.every((line) => /550 5\.[17]\.1/.test(line))
        ) {
          throw new Error(`the log export ${csv.name} holds ${refusedRows.length} rows (expected ${refusedCount}), ${bouncedRows.length} bounced:\n${csv.lines.slice(0, 3).join('\n')}`);
        }

        await search.fill(seeded.refusedMessageId);
        await search.press('Enter');
        await page.waitForURL(new RegExp(`recipient=${seeded.refusedMessageId}`));
        await page.getByText('1 message', { exact: true }).waitFor();
        await page.getByRole('row').filter({ hasText: 'Bounced' }).getByText(/^550 5\.[17]\.1 /).waitFor();
        log(`delivery log: ${shown} refused messages of the campaign shown with their replies; ${refusedRows.length} exported (${bouncedRows.length} bounced); found ${seeded.refusedMessageId} by id`);
      },
    },
    {
      name: 'the alerts page shows the evidence; one click (confirmed) lifts the alert and the relay sends the rest of the campaign',
      async run(page) {
        await openFromNav(page, 'Alerts', 'Alerts');
        const card = page.getByTestId('alerts-active').getByTestId('alert-card').filter({ hasText: relayName });
        await card.getByText(/^bounce rate [\d.]+ % over the last \d+ sends/).waitFor();
        await card.getByText(/^550 5\.[17]\.1 /).first().waitFor();
        await card.getByText(/\(threshold 5%\)|\(threshold 5 %\)/).first().waitFor();
        await shot(page, 'alerts-active');

        await card.getByRole('button', { name: 'Lift', exact: true }).click();
        const confirm = page.getByRole('alertdialog');
        await confirm.getByText(/takes mail again/).waitFor();
        await confirm.getByRole('button', { name: 'Confirm', exact: true }).click();
        await confirm.waitFor({ state: 'hidden' });
        const lifted = page.getByTestId('alerts-lifted').getByTestId('alert-card').filter({ hasText: relayName });
        await lifted.getByText('Browser Tester <browser-test@example.com>').waitFor();
        await page.getByTestId('alerts-active').getByText('No active alert', { exact: false }).waitFor();
        await shot(page, 'alerts-lifted');

        const startedAt = Date.now();
        const campaign = await until(
          'the campaign to complete once the relay is back',
          async () => {
            const { data } = await api('GET', `/campaigns/${seeded.campaignId}`);
            return data.status === 'completed' ? data : null;
          },
          COMPLETION_TIMEOUT_MS,
          1000
        );
        log(`lifted; the campaign completed ${seconds(Date.now() - startedAt)} later: ${campaign.sentCount} sent, ${campaign.bouncedCount} bounced`);
      },
    },
  ];
}

module.exports = { defineReportsTests };
