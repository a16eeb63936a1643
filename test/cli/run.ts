/** Runs the `colloquy` command (bin/colloquy.js → dist/) as a child process, as users do. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'bin/colloquy.js');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `pattern` (rejects when the process ends first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<Finished>;
}

/** A clean environment: no API keys, no COLLOQUY_* settings from the caller. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('COLLOQUY_') || k.endsWith('_API_KEY') || k === 'PORT' || k === 'HOST') continue;
    if (k.startsWith('npm_') || k.startsWith('VITEST')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export function launch(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Running {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<Finished>((res) => {
    child.on('close', (code, signal) => {
      for (const l of listeners) l();
      res({ code, signal, stdout: out, stderr: err });
    });
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((res, rej) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          rej(new Error(`timed out waiting for ${pattern} in stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            listeners.delete(check);
            res(m);
          } else if (ended || child.exitCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            rej(new Error(`exited before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}

/** Runs `colloquy ARGS` to completion. */
export function colloquy(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  const run = launch(process.execPath, [BIN, ...args], options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return run.exited.finally(() => clearTimeout(timer));
}

/**
 * `colloquy start` with `env` (over a clean environment, on a free port); resolves once it listens.
 * One process unless `env` asks for workers: the default (one worker per core behind a primary)
 * starts three processes on a two-core machine, which tests not about workers do not need.
 */
export async function startColloquy(env: Record<string, string>): Promise<{ run: Running; url: string }> {
  const run = launch(process.execPath, [BIN, 'start'], {
    env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', COLLOQUY_WORKERS: '1', ...env }),
  });
  const [, url] = await run.waitFor(/Colloquy listening on (http:\/\/\S+)/, 60_000).catch((err: unknown) => {
    run.child.kill('SIGKILL');
    throw err;
  });
  return { run, url: url! };
}
