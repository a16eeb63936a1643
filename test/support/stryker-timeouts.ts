/**
 * Setup file of mutation runs (vitest.stryker.config.ts): Stryker's initial test run gets a minute
 * per test, mutant runs keep the config's 5 s.
 *
 * The initial run is each test's first run: cold imports and JIT, at `nice -n 19` on a machine others
 * load. A test that passes the 5 s limit there (a first realtime session, a 14 MB message) stops the
 * whole run before any mutant is tried. Mutant runs reuse the warm modules (`isolate: false`), and there
 * the short limit is what turns a hanging mutant into a quick kill.
 */
import { inject, vi } from 'vitest';

declare module 'vitest' {
  interface ProvidedContext {
    /** Set by Stryker's Vitest runner: its initial run or a mutant's run. */
    mode: 'dry-run' | 'mutant';
  }
}

if (inject('mode') === 'dry-run') vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
else vi.resetConfig();
