#!/usr/bin/env node
/**
 * Where a .cpuprofile's time went, as text:
 *  - by caller: each sample goes to the nearest code on its stack that belongs to a package
 *    (node_modules/<name>) or to a folder of this repo, so a socket write made by ioredis counts
 *    for ioredis and one made by nodemailer for nodemailer;
 *  - self time by owner (node internals and V8 natives on their own);
 *  - the busiest functions by self time.
 *
 *   BENCH_CPU_PROFILE=/tmp/prof BENCH_PHASES=raw,bulk npm run bench
 *   node scripts/bench/profile-summary.js /tmp/prof/bulk.cpuprofile [functions=25]
 */
const fs = require('node:fs');
const path = require('node:path');

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench/profile-summary.js <file.cpuprofile> [how many functions]');
  process.exit(1);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const repoRoot = path.resolve(__dirname, '..', '..');

/** What a profile node belongs to: a package, one of the repo's folders, or what V8 calls it. */
const ownerOf = (callFrame) => {
  const url = callFrame.url.replace(/^file:\/\//, '');
  if (!url)
    return callFrame.functionName.startsWith('(')
      ? callFrame.functionName
      : `native ${callFrame.functionName || '(anonymous)'}`;
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith(repoRoot)) return path.relative(repoRoot, url).split('/').slice(0, 3).join('/');
  return url;
};

/** The file a frame is in, short: from node_modules/ or the repo root on. */
const fileOf = (callFrame) => {
  const url = callFrame.url.replace(/^file:\/\//, '');
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  return url.startsWith(repoRoot) ? path.relative(repoRoot, url) : url;
};

/** Owners that are code someone wrote on purpose (not node internals, natives, GC, idle). */
const isCodeOwner = (owner) => owner !== 'node internals' && !owner.startsWith('native ') && !owner.startsWith('(');

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const callerOwnerCache = new Map();
/** The nearest owner up the stack that is code (see isCodeOwner); the node's own owner when there is none. */
const callerOwnerOf = (id) => {
  if (callerOwnerCache.has(id)) return callerOwnerCache.get(id);
  let current = id;
  let found = null;
  while (current !== undefined && found === null) {
    const owner = ownerOf(nodes.get(current).callFrame);
    if (isCodeOwner(owner)) found = owner;
    current = parentOf.get(current);
  }
  const result = found ?? ownerOf(nodes.get(id).callFrame);
  callerOwnerCache.set(id, result);
  return result;
};
// Sample intervals: timeDeltas[i] is the time before sample i.
const selfUs = new Map();
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

const byOwner = new Map();
const byCaller = new Map();
const byFunction = new Map();
for (const [id, us] of selfUs) {
  const { callFrame } = nodes.get(id);
  const owner = ownerOf(callFrame);
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  const caller = callerOwnerOf(id);
  byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
  const name = `${callFrame.functionName || '(anonymous)'}  ${callFrame.url ? `${fileOf(callFrame)}:${callFrame.lineNumber + 1}` : owner}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
}

const idleUs = byOwner.get('(idle)') ?? 0;
const sorted = (map) =>
  [...map].filter(([key]) => key !== '(idle)' && !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
const busyUs = totalUs - idleUs;
const line = (us, label) =>
  `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${label}`;

console.log(
  `${file}: ${(totalUs / 1000).toFixed(0)} ms sampled, ${(busyUs / 1000).toFixed(0)} ms busy (percentages are of busy time)`
);
console.log('\nby caller (node internals and natives counted for the code that called them)');
for (const [owner, us] of sorted(byCaller).slice(0, 20)) console.log(line(us, owner));
console.log('\nself time by owner');
for (const [owner, us] of sorted(byOwner).slice(0, 20)) console.log(line(us, owner));
console.log(`\ntop ${top} functions by self time`);
for (const [name, us] of sorted(byFunction).slice(0, top)) console.log(line(us, name));
