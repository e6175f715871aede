#!/usr/bin/env node
/**
 * `npm run bench`: throughput of the plugin against plain nodemailer, weight accuracy, and quota
 * overshoot with several worker processes. A measurement, not a test: it always exits 0 once it
 * could measure (1 only when it could not run, e.g. no Redis).
 *
 * The benchmark is TypeScript (scripts/bench/run.ts, which says what each phase does and lists
 * its settings); this launcher lets Node load it, through the same @swc/core hook the tests'
 * worker processes use. The last line of stdout is one JSON object with every result.
 */
require('../test/helpers/register-ts');
require('./bench/run.ts');
