/**
 * Resolves once `check()` holds, looking again after each turn of the event loop (`setImmediate`, which
 * fake timers of `setTimeout`/`setInterval` leave alone). No bound of its own: a condition that never
 * holds fails at the test's timeout.
 */
export function whenTrue(check: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const look = () => (check() ? resolve() : setImmediate(look));
    look();
  });
}
