/**
 * The bounce parser over the real-world corpus in test/fixtures/bounces (Sisimai's set of
 * emails, with reference results): prints the match rates and guards them against regressions.
 *
 * The parser's rules were tuned on this corpus, so its rate on the whole of it flatters. A fixed
 * quarter of the files (by a hash of the file name: isHeldOut) is the held-out set, reported on its
 * own: when a rule is improved, look only at the failures outside it, and let the held-out figure
 * tell whether the rule is general. Never special-case a file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { parseBounce, splitMbox, type BouncedRecipient } from '../../server/src/engine/bounce-parser';

interface Expected {
  status: string;
  replyCode: string;
  reason: string;
  hardBounce: boolean;
  feedbackType?: string;
}

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'bounces');

/** Floors of the measured rates (percent): raise them as the parser improves. */
const FLOORS = { recipients: 99.7, status: 98.4, hardSoft: 97.9, reason: 94.9 };
/** Floor of the hard/soft agreement on the held-out files (percent). */
const HELD_OUT_FLOOR = 96.5;

/** The held-out quarter: the first byte of the file name's SHA-256 below 64. */
export const isHeldOut = (file: string) => createHash('sha256').update(file).digest()[0]! < 64;
/** Per-file time limit (ms): generous for slow CI machines, far below anything pathological. */
const MAX_MS_PER_FILE = 1000;

describe('bounce corpus', () => {
  it('matches the reference results on recipients, status and hard/soft', async () => {
    if (!fs.existsSync(path.join(FIXTURES, 'expected.json'))) {
      throw new Error(`the bounce corpus is missing at ${FIXTURES} (test/fixtures/bounces, committed with the repository)`);
    }
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<
      string,
      Expected[]
    >;
    const files = Object.keys(expected).sort();
    expect(files.length).toBeGreaterThan(0);

    let recipients = 0;
    let status = 0;
    let hardSoft = 0;
    let reason = 0;
    let slowest = 0;
    let heldOut = 0;
    let heldOutHardSoft = 0;
    for (const file of files) {
      const want = expected[file] ?? [];
      const raw = fs.readFileSync(path.join(FIXTURES, 'emails', file));
      const started = performance.now();
      // A file may be an mbox of several messages: their recipients together.
      const have: BouncedRecipient[] = [];
      for (const message of splitMbox(raw)) {
        try {
          have.push(...(await parseBounce(message)).recipients);
        } catch (error) {
          throw new Error(`${file} threw: ${String(error)}`);
        }
      }
      slowest = Math.max(slowest, performance.now() - started);
      if (isHeldOut(file)) heldOut++;
      if (have.length !== want.length) continue;
      recipients++;
      if (want.every((w, i) => w.status === (have[i]?.status ?? ''))) status++;
      if (want.every((w, i) => w.hardBounce === have[i]?.hardBounce)) {
        hardSoft++;
        if (isHeldOut(file)) heldOutHardSoft++;
      }
      if (want.every((w, i) => w.reason === have[i]?.reason)) reason++;
    }
    const pct = (n: number, of = files.length) => (Math.floor((1000 * n) / of) / 10).toFixed(1);
    console.log(
      `bounce corpus: ${files.length} files; recipients ${pct(recipients)} %, status ${pct(status)} %, ` +
        `hard/soft ${pct(hardSoft)} %, reason ${pct(reason)} %; held-out (${heldOut} files): ` +
        `hard/soft ${pct(heldOutHardSoft, heldOut)} %; slowest file ${slowest.toFixed(0)} ms`
    );
    expect(heldOut).toBeGreaterThan(files.length / 8);
    expect((100 * heldOutHardSoft) / heldOut).toBeGreaterThanOrEqual(HELD_OUT_FLOOR);
    expect((100 * recipients) / files.length).toBeGreaterThanOrEqual(FLOORS.recipients);
    expect((100 * status) / files.length).toBeGreaterThanOrEqual(FLOORS.status);
    expect((100 * hardSoft) / files.length).toBeGreaterThanOrEqual(FLOORS.hardSoft);
    expect((100 * reason) / files.length).toBeGreaterThanOrEqual(FLOORS.reason);
    expect(slowest).toBeLessThan(MAX_MS_PER_FILE);
  });
});
