/**
 * The order test files start in (vitest.config.ts `sequence.sequencer`): the files known to take
 * longest start first, then the rest in Vitest's own order. Vitest starts the longest first only
 * when it has timed a file before (its results cache); on a clean clone (CI) it starts the largest
 * files first, and the slowest files here are small: the API report (27 s) and the docs' code blocks
 * (23 s) started last, 230 s into a 260 s group, and ran on while the other workers had nothing
 * left. The list only changes the order: a file missing from it, or one no longer slow, still runs.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files of the first group (unit and processes projects) by their time in a run of that group
 * (commit d6708e6, load average 9 to 17), longest first. The live group runs one file at a time:
 * its order does not change its length.
 */
export const SLOW_FILES = [
  'test/package/api-report.test.ts', // 27 s
  'test/cluster/node-faults.test.ts', // 24 s
  'test/docs/code-blocks.test.ts', // 23 s
  'test/cli/commands.test.ts', // 18 s
  'test/package/exports.test.ts', // 17 s
  'test/cli/workers.test.ts', // 17 s
  'test/cli/restart-resume.test.ts', // 16 s
  'test/package/examples.test.ts', // 16 s
  'src/session/voice-audio.test.ts', // 14 s
  'test/cli/start.test.ts', // 13 s
  'test/cli/console-sound.test.ts', // 13 s
  'test/cli/restart-kill-pending.test.ts', // 12 s
  'test/cluster/three-nodes.test.ts', // 11 s
  'test/cluster/cluster-edges.test.ts', // 9 s
  'test/fuzz/providers.test.ts', // 7 s
  'test/fuzz/livekit-signal.test.ts', // 6 s
  'test/fuzz/workers-primary.test.ts', // 6 s
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const rank = (spec: TestSpecification) => {
      const at = SLOW_FILES.indexOf(relative(root, spec.moduleId).replaceAll('\\', '/'));
      return at < 0 ? SLOW_FILES.length : at;
    };
    const group = (spec: TestSpecification) => spec.project.config.sequence.groupOrder;
    return sorted
      .map((spec, index) => ({ spec, index }))
      .sort((a, b) => group(a.spec) - group(b.spec) || rank(a.spec) - rank(b.spec) || a.index - b.index)
      .map(({ spec }) => spec);
  }
}
