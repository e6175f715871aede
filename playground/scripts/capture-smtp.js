/**
 * Local SMTP servers that accept every message and keep it in memory, plus a small web page that
 * lists what they received. Used by the demo (three "relays") and by the browser test (one sink).
 *
 * Plain JS on top of `smtp-server` and `mailparser` (both already dev dependencies of the repo).
 * Everything listens on 127.0.0.1 only.
 */
const http = require('node:http');

const { simpleParser } = require('mailparser');
const { SMTPServer } = require('smtp-server');

const LOOPBACK = '127.0.0.1';

/** Oldest messages are dropped beyond this, so a long demo does not grow without bound. */
const MAX_MESSAGES_PER_SERVER = 500;

let nextMessageId = 1;

/**
 * Starts an SMTP server on 127.0.0.1 that accepts any sender and recipient, no AUTH, no TLS.
 * `port` 0 picks a free port. Resolves once it listens.
 */
async function startCapturingSmtpServer({ name = 'sink', port = 0 } = {}) {
  const messages = [];
  const waiters = new Set();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    // Reverse DNS of 127.0.0.1 can take seconds and tells nothing here.
    disableReverseLookup: true,
    banner: `${name} (capturing SMTP server)`,
    closeTimeout: 100,
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', async () => {
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw);
          messages.push({
            id: nextMessageId++,
            server: name,
            receivedAt: new Date(),
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
            from: parsed.from ? parsed.from.text : '',
            to: parsed.to ? [].concat(parsed.to).map((address) => address.text).join(', ') : '',
            subject: parsed.subject || '(no subject)',
            text: parsed.text || '',
            html: parsed.html || '',
            raw: raw.toString('utf8'),
          });
          if (messages.length > MAX_MESSAGES_PER_SERVER) messages.shift();
          for (const check of [...waiters]) check();
          callback();
        } catch (error) {
          callback(error);
        }
      });
    },
  });
  // smtp-server reports client resets as errors; they must not crash the process.
  server.on('error', () => {});

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });

  return {
    name,
    host: LOOPBACK,
    port: server.server.address().port,
    messages,
    /** Resolves with the first message that matches `predicate`, waiting for it up to `timeoutMs`. */
    waitForMessage(predicate, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: no matching message arrived within ${timeoutMs} ms (received ${messages.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const escapeHtml = (value) =>
  String(value).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]);

const page = (title, body, { autoRefresh = false } = {}) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
${autoRefresh ? '<meta http-equiv="refresh" content="5">' : ''}
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f8; }
  pre { background: #f6f6f6; padding: 1rem; white-space: pre-wrap; word-break: break-word; }
  iframe { width: 100%; height: 28rem; border: 1px solid #ddd; }
  .muted { color: #777; }
</style></head><body>${body}</body></html>`;

function listPage(smtpServers) {
  const sections = smtpServers.map((smtp) => {
    const rows = [...smtp.messages]
      .reverse()
      .map(
        (message) => `<tr>
          <td>${escapeHtml(message.receivedAt.toLocaleTimeString())}</td>
          <td><a href="/messages/${message.id}">${escapeHtml(message.subject)}</a></td>
          <td>${escapeHtml(message.from || message.envelopeFrom)}</td>
          <td>${escapeHtml(message.envelopeTo.join(', '))}</td></tr>`
      )
      .join('');
    return `<h2>${escapeHtml(smtp.name)} <span class="muted">— 127.0.0.1:${smtp.port}, ${smtp.messages.length} message(s)</span></h2>
      <table><tr><th>Time</th><th>Subject</th><th>From</th><th>To (envelope)</th></tr>
      ${rows || '<tr><td colspan="4" class="muted">Nothing received yet.</td></tr>'}</table>`;
  });
  return page(
    'Demo mailboxes',
    `<h1>Demo mailboxes</h1><p class="muted">Every message the demo SMTP servers accepted. Refreshes every 5 s.</p>${sections.join('')}`,
    { autoRefresh: true }
  );
}

function messagePage(message) {
  const html = message.html
    ? `<h3>HTML body</h3><iframe sandbox srcdoc="${escapeHtml(message.html)}"></iframe>`
    : '';
  return page(
    message.subject,
    `<p><a href="/">&larr; all messages</a></p>
    <h1>${escapeHtml(message.subject)}</h1>
    <table>
      <tr><th>Server</th><td>${escapeHtml(message.server)}</td></tr>
      <tr><th>Received</th><td>${escapeHtml(message.receivedAt.toISOString())}</td></tr>
      <tr><th>From</th><td>${escapeHtml(message.from)} <span class="muted">(envelope: ${escapeHtml(message.envelopeFrom)})</span></td></tr>
      <tr><th>To</th><td>${escapeHtml(message.to)} <span class="muted">(envelope: ${escapeHtml(message.envelopeTo.join(', '))})</span></td></tr>
    </table>
    <h3>Text body</h3><pre>${escapeHtml(message.text || '(none)')}</pre>
    ${html}
    <h3>Source</h3><pre>${escapeHtml(message.raw)}</pre>`
  );
}

/**
 * Serves http://127.0.0.1:<port>/ listing the messages of `smtpServers`, /messages/<id> for one
 * message, and /api/messages as JSON.
 */
async function startMailViewer(smtpServers, port = 0) {
  const findMessage = (id) =>
    smtpServers.flatMap((smtp) => smtp.messages).find((message) => message.id === Number(id));

  const server = http.createServer((request, response) => {
    const url = new URL(request.url, `http://${LOOPBACK}`);
    const send = (status, type, body) => {
      response.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
      response.end(body);
    };

    if (url.pathname === '/') return send(200, 'text/html', listPage(smtpServers));
    if (url.pathname === '/api/messages') {
      const all = smtpServers.flatMap((smtp) => smtp.messages.map(({ raw: _raw, ...summary }) => summary));
      return send(200, 'application/json', JSON.stringify(all, null, 2));
    }
    const match = url.pathname.match(/^\/messages\/(\d+)$/);
    const message = match && findMessage(match[1]);
    if (message) return send(200, 'text/html', messagePage(message));
    return send(404, 'text/plain', 'Not found');
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, resolve);
  });
  return {
    url: `http://${LOOPBACK}:${server.address().port}`,
    close() {
      // Browsers keep connections open; don't wait for them.
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { LOOPBACK, startCapturingSmtpServer, startMailViewer };
