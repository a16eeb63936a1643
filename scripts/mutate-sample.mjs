#!/usr/bin/env node
/**
 * `npm run mutate:sample`: a core folder's mutation score estimated from a seeded random sample of its
 * mutants, for folders whose full run (`npm run mutate`) takes hours on a small machine.
 *
 *   MUTATE_FOLDER=session MUTATE_SAMPLE=200 MUTATE_SEED=7 nice -n 19 npm run mutate:sample
 *
 * 1. Lists every mutant Stryker makes in the folder's files (stryker.config.mjs's `mutate` patterns,
 *    MUTATE_FILES included) with Stryker's own instrumenter.
 * 2. Draws MUTATE_SAMPLE of them (default 150) by a shuffle seeded with MUTATE_SEED (random when unset,
 *    printed). The same seed with a larger sample keeps the smaller sample's mutants, so the incremental
 *    results of an earlier run are reused.
 * 3. Runs Stryker on those mutants' spans only (stryker.config.mjs reads them from
 *    reports/<folder>/sample-<seed>/sample.json). Mutants nested in a sampled span are not run
 *    (scripts/mutate-sample-ignorer.mjs); other mutants of a sampled mutant's very node are run but not
 *    counted, so what is counted stays a simple random sample of the folder's mutants.
 * 4. Prints the counts, the estimated score with its Wilson 95% interval, and the sampled survivors.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Instrumenter } from '@stryker-mutator/instrumenter';
import { minimatch } from 'minimatch';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const folder = process.env.MUTATE_FOLDER;
if (folder === undefined) throw new Error('MUTATE_FOLDER is required (a core folder: bus, session, ...)');
const size = Number(process.env.MUTATE_SAMPLE ?? 150);
const seed = Number(process.env.MUTATE_SEED ?? Math.floor(Math.random() * 2 ** 32));
if (!Number.isInteger(size) || size < 1) throw new Error('MUTATE_SAMPLE must be a positive integer');
if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new Error('MUTATE_SEED: 0 to 2^32-1');

// The same patterns a full run mutates (importing the config also checks MUTATE_FOLDER and MUTATE_FILES).
const { mutatePatterns, reportDir } = await import('../stryker.config.mjs');
const dir = `${reportDir}/sample-${seed}`;

/** Files of src/ that Stryker would mutate: each pattern in order adds, or removes with `!`. */
function filesToMutate() {
  const all = readdirSync('src', { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
  const chosen = new Set();
  for (const pattern of mutatePatterns) {
    const exclude = pattern.startsWith('!');
    const glob = resolve(exclude ? pattern.slice(1) : pattern);
    for (const file of all) {
      if (!minimatch(resolve(file), glob, { dot: false })) continue;
      if (exclude) chosen.delete(file);
      else chosen.add(file);
    }
  }
  return [...chosen].sort();
}

/** Every mutant of the files, with Babel locations (lines from 1, columns from 0), as Stryker ranges use. */
async function listMutants(files) {
  const quiet = { debug() {}, info() {}, warn() {}, isDebugEnabled: () => false };
  const input = files.map((name) => ({ name, content: readFileSync(name, 'utf8'), mutate: true }));
  const { mutants } = await new Instrumenter(quiet).instrument(input, {
    plugins: null,
    excludedMutations: [],
    ignorers: [],
  });
  return mutants.map(({ fileName, location: { start, end }, mutatorName, replacement }) => ({
    file: fileName,
    location: {
      start: { line: start.line + 1, column: start.column },
      end: { line: end.line + 1, column: end.column },
    },
    mutatorName,
    replacement,
  }));
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function random(state) {
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The first `n` of a seeded Fisher–Yates shuffle: a larger `n` with the same seed extends the sample. */
function draw(items, n, seed) {
  const next = random(seed);
  const pool = [...items];
  const count = Math.min(n, pool.length);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

/** Wilson score interval of k successes in n trials (95% with z = 1.96). */
function wilson(k, n, z = 1.96) {
  if (n === 0) return [0, 1];
  const p = k / n;
  const centre = p + (z * z) / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  const scale = 1 + (z * z) / n;
  return [(centre - spread) / scale, (centre + spread) / scale];
}

/** A mutant's place: file and span (the JSON report counts columns from 1). */
function place(file, { location: { start, end } }, columnBase) {
  return `${file}:${start.line}:${start.column - columnBase}-${end.line}:${end.column - columnBase}`;
}
/** A mutant's identity: its place, mutator and replacement. */
const key = (file, m, columnBase) => `${place(file, m, columnBase)}|${m.mutatorName}|${m.replacement}`;

const files = filesToMutate();
const mutants = await listMutants(files);
const sample = draw(mutants, size, seed);
mkdirSync(dir, { recursive: true });
const population = mutants.length;
const drawn = { folder, seed, population, mutants: sample };
writeFileSync(join(dir, 'sample.json'), `${JSON.stringify(drawn, null, 1)}\n`);
console.log(`mutate:sample ${folder}: seed ${seed}, ${sample.length} of ${population} mutants → ${dir}`);

const started = Date.now();
const load = () => loadavg()[0].toFixed(1);
const loadBefore = load();
const run = spawnSync(join(root, 'node_modules/.bin/stryker'), ['run'], {
  stdio: 'inherit',
  env: { ...process.env, MUTATE_SAMPLE_DIR: dir },
});
if (run.status !== 0) throw new Error(`stryker run exited with ${run.status ?? run.signal}`);
const minutes = (Date.now() - started) / 60_000;

// Each sampled mutant's status in the report; other mutants of the same spans ran too, not counted.
const report = JSON.parse(readFileSync(join(dir, 'mutation.json'), 'utf8'));
const results = new Map();
const sampledPlaces = new Set(sample.map((m) => place(m.file, m, 0)));
// Ignored: static mutants (ignoreStatic); nothing sampled is ignored otherwise.
const statuses = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError', 'Ignored'];
const counts = Object.fromEntries(statuses.map((status) => [status, 0]));
const spanCounts = { ...counts }; // every mutant run on a sampled span, the sampled ones included
for (const [reportedFile, { mutants: reported }] of Object.entries(report.files)) {
  const file = relative(root, resolve(reportedFile));
  for (const m of reported) {
    results.set(key(file, m, 1), m);
    if (sampledPlaces.has(place(file, m, 1))) spanCounts[m.status] = (spanCounts[m.status] ?? 0) + 1;
  }
}
const missing = [];
const undetected = [];
for (const m of sample) {
  const result = results.get(key(m.file, m, 0));
  if (result === undefined) {
    missing.push(m);
    continue;
  }
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status === 'Survived' || result.status === 'NoCoverage') {
    undetected.push({ ...m, status: result.status });
  }
}

const validOf = (c) => c.Killed + c.Timeout + c.Survived + c.NoCoverage;
const valid = validOf(counts);
const percent = (x) => `${(100 * x).toFixed(1)}%`;
const estimate = (k) => {
  const [low, high] = wilson(k, valid);
  const score = percent(valid === 0 ? 0 : k / valid);
  return `${k}/${valid} = ${score} (95% interval ${percent(low)} to ${percent(high)})`;
};
const spanValid = validOf(spanCounts);
const spanScore = percent(spanValid === 0 ? 0 : (spanCounts.Killed + spanCounts.Timeout) / spanValid);
const oneLine = (text) => text.replace(/\s+/g, ' ').slice(0, 100);
const c = counts;
const lines = [
  `folder ${folder}, seed ${seed}: ${sample.length} sampled of ${population} mutants`,
  `  compile errors ${c.CompileError}, ignored (static) ${c.Ignored}, runtime errors ${c.RuntimeError}` +
    (missing.length > 0 ? `, not in the report ${missing.length}` : ''),
  `  killed ${c.Killed}, timed out ${c.Timeout}, survived ${c.Survived}, no coverage ${c.NoCoverage}`,
  `  score, killed only:         ${estimate(c.Killed)}`,
  `  score, timeouts detected:   ${estimate(c.Killed + c.Timeout)} (Stryker's own score)`,
  `  every mutant run on the sampled spans (not a random sample: one span's mutants often share a fate):` +
    ` ${spanCounts.Killed} killed, ${spanCounts.Timeout} timed out of ${spanValid}, ${spanScore}`,
  `  ${minutes.toFixed(1)} min, load average ${loadBefore} at the start, ${load()} at the end`,
  ...(undetected.length > 0 ? ['undetected:'] : []),
  ...undetected.map(({ file, location: { start }, status, mutatorName, replacement }) => {
    return `  ${file}:${start.line}:${start.column + 1} ${status} ${mutatorName} → ${oneLine(replacement)}`;
  }),
  ...missing.map((m) => `  not in the report: ${m.file}:${m.location.start.line} ${m.mutatorName}`),
];
writeFileSync(join(dir, 'summary.txt'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
