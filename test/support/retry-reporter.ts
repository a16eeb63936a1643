/**
 * A Vitest reporter beside the default one: a test that fails and then passes on its retry
 * (vitest.config.ts) is reported as passed and its first error is dropped. This prints that error,
 * so a run's log says why the retry was needed.
 */
import type { RunnerTaskEventPack, RunnerTaskResultPack } from 'vitest';
import type { Reporter, Vitest } from 'vitest/node';

export default class RetryReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTaskUpdate(packs: RunnerTaskResultPack[], events: RunnerTaskEventPack[]): void {
    for (const [id, event] of events) {
      if (event !== 'test-retried') continue;
      const task = this.vitest?.state.idMap.get(id);
      const name = task ? `${task.file.name} > ${task.name}` : id;
      const result = packs.find(([packId]) => packId === id)?.[1];
      // A timeout's stack is a placeholder: the message says what happened.
      const errors = (result?.errors ?? [])
        .map(
          (e) => `${e.name ?? 'Error'}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`,
        )
        .join('\n');
      process.stderr.write(`\n[retrying after a failed attempt] ${name}\n${errors}\n\n`);
    }
  }
}
