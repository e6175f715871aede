#!/usr/bin/env node
/**
 * Feeds bounces and complaints to the plugin: reads one message, or an mbox of many, from stdin and
 * POSTs it to the inbound endpoint (POST /api/multi-smtp/inbound) of a running Strapi. Prints one
 * JSON line per message: { index, kind, linkedBy, linkedMessageIds, recipients, actions }.
 *
 *   npm run -s process-bounces < bounce.eml      (-s: without npm's banner on stdout)
 *   npm run process-bounces -- --url https://example.com --token "$TOKEN" < bounces.mbox
 *   MULTI_SMTP_URL=https://example.com MULTI_SMTP_INBOUND_TOKEN=... node scripts/process-bounces.js
 *
 * In an MTA: an alias or .forward line such as
 *   "|/usr/bin/env MULTI_SMTP_URL=https://example.com MULTI_SMTP_INBOUND_TOKEN=... node /path/scripts/process-bounces.js"
 * or pipe a mailbox fetcher's mbox into it. Plain Node (20+), no dependencies: it can run on the
 * mail host.
 *
 * --url    (or MULTI_SMTP_URL) the site's base URL, or the endpoint's full URL
 * --token  (or MULTI_SMTP_INBOUND_TOKEN) the plugin config's bounces.inboundToken
 * --max-bytes  an mbox is posted in batches of at most this many bytes (default 8 MiB, under the
 *              endpoint's default limit of 10 MiB)
 *
 * Exit status, as MTAs read it: 0 done; 75 (EX_TEMPFAIL: the MTA keeps the message and tries
 * again) when the site cannot be reached or refuses (network, 401, 404, 429, 5xx); 65 (EX_DATAERR)
 * for input the endpoint will never take (empty, a message over its size limit, or one the parser
 * could not read within its time limit: kind "unparsed", HTTP 422 when alone); 64 (EX_USAGE) for a
 * missing URL or token.
 */
const EX_OK = 0;
const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_TEMPFAIL = 75;
const ENDPOINT = '/api/multi-smtp/inbound';
const TIMEOUT_MS = 120_000;

function usage(message) {
  process.stderr.write(
    `process-bounces: ${message}\nusage: process-bounces [--url URL] [--token TOKEN] [--max-bytes N] < message-or-mbox\n` +
      '       (or set MULTI_SMTP_URL and MULTI_SMTP_INBOUND_TOKEN)\n'
  );
  process.exit(EX_USAGE);
}

function parseArgs(argv) {
  const options = {
    url: process.env.MULTI_SMTP_URL,
    token: process.env.MULTI_SMTP_INBOUND_TOKEN,
    maxBytes: 8 * 1024 * 1024,
  };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    const value = () => {
      const next = argv[index + 1];
      if (next === undefined) usage(`${arg} needs a value`);
      index += 1;
      return next;
    };
    if (arg === '--url') options.url = value();
    else if (arg === '--token') options.token = value();
    else if (arg === '--max-bytes') options.maxBytes = Number(value());
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${require('node:fs').readFileSync(__filename, 'utf8').split('*/')[0]}*/\n`);
      process.exit(EX_OK);
    } else usage(`unknown argument ${arg}`);
  }
  if (!options.url) usage('no URL: give --url or set MULTI_SMTP_URL');
  if (!options.token) usage('no token: give --token or set MULTI_SMTP_INBOUND_TOKEN');
  if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1024) usage('--max-bytes must be a whole number of at least 1024');
  let url;
  try {
    url = new URL(options.url);
  } catch {
    usage(`${options.url} is not a URL`);
  }
  if (!/^https?:$/.test(url.protocol)) usage('the URL must be http:// or https://');
  if (!url.pathname.endsWith('/inbound')) url.pathname = `${url.pathname.replace(/\/+$/, '')}${ENDPOINT}`;
  return { ...options, url: url.toString() };
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

const FROM_LINE = /^From \S+ +\S.{0,200}\b\d{1,2}:\d{2}(?::\d{2})?\b.{0,60}\b\d{4}\b/;

/**
 * The raw messages of an mbox, each with its own "From " line and quoting left as they are (the
 * endpoint undoes it); or the whole input as one message when it does not start like an mbox.
 */
function splitInput(text) {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n')).replace(/\r$/, '');
  if (!FROM_LINE.test(firstLine)) return { mbox: false, parts: [text] };
  const parts = [];
  const lines = text.split('\n');
  let current = [];
  lines.forEach((line, index) => {
    const previousEmpty = index === 0 || /^\r?$/.test(lines[index - 1]);
    if (index > 0 && previousEmpty && FROM_LINE.test(line.replace(/\r$/, ''))) {
      parts.push(current.join('\n'));
      current = [];
    }
    current.push(line);
  });
  parts.push(current.join('\n'));
  return { mbox: true, parts: parts.filter((part) => part.trim() !== '') };
}

/** Consecutive messages in batches of at most maxBytes (a larger message goes alone). */
function batchesOf(parts, maxBytes) {
  const batches = [];
  let current = [];
  let size = 0;
  for (const part of parts) {
    const bytes = part.length + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(part);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function post(url, token, body, contentType) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, json, text };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const input = (await readStdin()).toString('latin1');
  if (!input.trim()) {
    process.stderr.write('process-bounces: nothing on stdin\n');
    return EX_DATAERR;
  }
  const { mbox, parts } = splitInput(input);
  const batches = mbox ? batchesOf(parts, options.maxBytes) : [parts];
  let exitCode = EX_OK;
  let offset = 0;
  for (const batch of batches) {
    const body = Buffer.from(batch.join('\n'), 'latin1');
    let result;
    try {
      result = await post(options.url, options.token, body, mbox ? 'application/mbox' : 'message/rfc822');
    } catch (error) {
      const cause = error.cause ? ` (${error.cause.code ?? error.cause.message})` : '';
      process.stderr.write(`process-bounces: ${options.url} could not be reached: ${error.message}${cause}\n`);
      return EX_TEMPFAIL;
    }
    // 422: no message of the batch could be parsed in time; the results are under error.details.
    const data = result.status === 200 ? result.json?.data : result.status === 422 ? result.json?.error?.details : null;
    if (data && Array.isArray(data.messages)) {
      for (const message of data.messages) {
        process.stdout.write(`${JSON.stringify({ ...message, index: offset + message.index })}\n`);
        if (message.kind === 'unparsed') {
          process.stderr.write(`process-bounces: message ${offset + message.index} not parsed: ${message.error}\n`);
          // The same message would not parse the next time either: a data error, not a retry.
          exitCode = EX_DATAERR;
        }
      }
    } else {
      const reason = result.json?.error?.message ?? result.text.slice(0, 200);
      process.stderr.write(`process-bounces: HTTP ${result.status} for messages ${offset}-${offset + batch.length - 1}: ${reason}\n`);
      // Input the endpoint will never take is a data error; anything else may work later.
      const permanent = result.status === 400 || result.status === 413;
      if (!permanent) return EX_TEMPFAIL;
      exitCode = EX_DATAERR;
    }
    offset += batch.length;
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`process-bounces: ${error.stack ?? error}\n`);
    process.exit(EX_TEMPFAIL);
  }
);
