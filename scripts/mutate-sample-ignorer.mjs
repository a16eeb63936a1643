/**
 * The Stryker ignorer of a sampled run (`npm run mutate:sample`, scripts/mutate-sample.mjs).
 *
 * A sampled run mutates only the sampled mutants' spans (stryker.config.mjs gives Stryker them as
 * `file:line:column-line:column` ranges), but a range selects every mutant whose node lies inside it:
 * the span of an emptied block holds all the mutants of that block. This ignorer sets aside every node
 * that is not a sampled span and holds none, so those nested mutants are reported as ignored instead of
 * being run. Mutants on the very node of a sampled one (`a < b` turned `true`, `false`, `a <= b`) still
 * run: Stryker selects nodes, not mutants. The sample's counts leave them out.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const SAMPLE_IGNORE_REASON = 'Not in the sample (nested in a sampled span)';

/** Sampled spans per file, as Babel locations (lines from 1, columns from 0). */
let spansByFile;
function spansOf(fileName) {
  if (spansByFile === undefined) {
    const { mutants } = JSON.parse(readFileSync(join(process.env.MUTATE_SAMPLE_DIR, 'sample.json'), 'utf8'));
    spansByFile = new Map();
    for (const { file, location } of mutants) {
      const spans = spansByFile.get(file) ?? [];
      spans.push(location);
      spansByFile.set(file, spans);
    }
  }
  return spansByFile.get(relative(process.cwd(), fileName)) ?? [];
}

const before = (a, b) => a.line < b.line || (a.line === b.line && a.column <= b.column);
/** Whether `outer` holds `inner` (equal spans included). */
const holds = (outer, inner) => before(outer.start, inner.start) && before(inner.end, outer.end);

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'sample', {
    shouldIgnore(path) {
      const loc = path.node.loc;
      const fileName = path.hub?.file?.opts?.filename;
      if (loc == null || fileName === undefined) return undefined;
      return spansOf(fileName).some((span) => holds(loc, span)) ? undefined : SAMPLE_IGNORE_REASON;
    },
  }),
];
