#!/usr/bin/env node
/**
 * `npm run bench:reports`: how fast the 30-day reports answer over 1,000,000 logged messages
 * (scripts/bench/reports.ts says what it seeds and times). A measurement, not a test: it exits 0
 * once it could measure (1 only when it could not run, e.g. no Redis). The last line of stdout is
 * one JSON object with `messages` and `p95Ms`.
 */
require('../test/helpers/register-ts');
require('./bench/reports.ts');
