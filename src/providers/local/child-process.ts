/**
 * Small helpers shared by the providers that drive a local program (eSpeak NG, PocketSphinx):
 * PATH lookup, bounded output capture and abort/timeout plumbing.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

const pathCache = new Map<string, Promise<string | null>>();

/** Absolute path of an executable on PATH (or the path itself if absolute and executable), else null. */
export function findExecutable(name: string): Promise<string | null> {
  let found = pathCache.get(name);
  if (!found) {
    found = (async () => {
      const candidates = isAbsolute(name)
        ? [name]
        : (process.env.PATH ?? '')
            .split(delimiter)
            .filter(Boolean)
            .map((dir) => join(dir, name));
      for (const candidate of candidates) {
        try {
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          // not here
        }
      }
      return null;
    })();
    pathCache.set(name, found);
  }
  return found;
}

/** Keeps the last `limit` characters of a stream's text (for error messages). */
export function captureTail(stream: NodeJS.ReadableStream | null, limit = 4000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > limit) text = text.slice(-limit);
  });
  return () => text.trim();
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the process exits; rejects on a spawn error (e.g. ENOENT). */
export function waitForExit(child: ChildProcess): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Kills the process if it is still running. */
export function killQuietly(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Kills the whole process group of a child spawned with `detached: true` (falls back to the child). */
export function killGroupQuietly(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    killQuietly(child);
  }
}

/** The reason an aborted signal carries, as something throwable. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Races `promise` against `signal`: rejects with the abort reason as soon as the signal fires.
 * The listener is removed when either settles.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
