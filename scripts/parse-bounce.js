#!/usr/bin/env node
/**
 * Prints what the bounce parser makes of each FILE (or of stdin when none is given): one JSON object
 * per file on its own line. Touches no database. A file that is an mbox (several messages, each
 * after a "From " line) gives one object with the recipients of all its messages.
 *
 *   npm run parse-bounce -- FILE...
 */
const fs = require('node:fs');
const path = require('node:path');

require('../test/helpers/register-ts.js');

const { parseBounce, splitMbox } = require(path.join(__dirname, '..', 'server', 'src', 'engine', 'bounce-parser.ts'));

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

async function report(file, raw) {
  const messages = splitMbox(raw);
  const parsed = { kind: 'other', recipients: [] };
  for (const message of messages.length ? messages : [raw]) {
    const one = await parseBounce(message);
    if (parsed.kind === 'other') parsed.kind = one.kind;
    parsed.recipients.push(...one.recipients);
  }
  const line = {
    file,
    kind: parsed.kind,
    recipients: parsed.recipients.map((r) => ({
      recipient: r.recipient,
      status: r.status,
      replyCode: r.replyCode,
      hardBounce: r.hardBounce,
      reason: r.reason,
      feedbackType: r.feedbackType,
    })),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function main() {
  const files = process.argv.slice(2);
  if (!files.length) {
    await report('-', await readStdin());
    return;
  }
  let failed = false;
  for (const file of files) {
    let raw;
    try {
      raw = fs.readFileSync(file);
    } catch (error) {
      process.stderr.write(`${file}: ${error.message}\n`);
      failed = true;
      continue;
    }
    await report(file, raw);
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 1;
});
