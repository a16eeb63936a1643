/**
 * Starts short-lived programs (one eSpeak NG run per utterance) without blocking the event loop.
 *
 * Node's `spawn()` is synchronous until the child has called `exec()`: libuv forks, then waits on a
 * pipe for the exec to succeed. On a busy machine that wait is the child's turn on a CPU, plus the
 * teardown of the forked copy of a large process: 40–200 ms of blocked event loop per utterance,
 * during which no session's audio moves. So the server spawns one small helper process once (a
 * plain Node script, no dependencies), and the helper spawns the programs; their stdin, stdout and
 * stderr travel over the helper's pipes. The helper exits when this process goes away (its stdin
 * closes), killing what it started.
 *
 * Frames, both directions: `[u32le id][u8 kind][u32le length][payload]`.
 * - to the helper: 0 spawn (JSON `{command, args, detached}`), 1 stdin bytes, 2 stdin end, 3 kill
 * - from the helper: 0 stdout bytes, 1 stderr bytes, 2 exit (JSON `{code, signal}`), 3 spawn error
 *   (JSON `{message, code}`)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { type ExitResult, killGroupQuietly, killQuietly, waitForExit } from './child-process.ts';

const HELPER_SOURCE = `'use strict';
const { spawn } = require('node:child_process');
const children = new Map();
const out = process.stdout;
let blocked = false;
function send(id, kind, payload) {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(id, 0);
  head.writeUInt8(kind, 4);
  head.writeUInt32LE(payload.length, 5);
  out.write(head);
  if (!out.write(payload) && !blocked) {
    blocked = true;
    for (const c of children.values()) { c.stdout.pause(); c.stderr.pause(); }
    out.once('drain', () => {
      blocked = false;
      for (const c of children.values()) { c.stdout.resume(); c.stderr.resume(); }
    });
  }
}
const json = (v) => Buffer.from(JSON.stringify(v));
function kill(c) {
  if (c.exitCode !== null || c.signalCode !== null) return;
  try { if (c.detachedGroup) process.kill(-c.pid, 'SIGKILL'); else c.kill('SIGKILL'); }
  catch { try { c.kill('SIGKILL'); } catch {} }
}
function handle(id, kind, payload) {
  if (kind === 0) {
    let c;
    try {
      const { command, args, detached } = JSON.parse(payload.toString('utf8'));
      c = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: !!detached });
      c.detachedGroup = !!detached;
    } catch (err) {
      send(id, 3, json({ message: String(err && err.message), code: err && err.code }));
      return;
    }
    children.set(id, c);
    c.stdin.on('error', () => {});
    c.stdout.on('data', (d) => send(id, 0, d));
    c.stderr.on('data', (d) => send(id, 1, d));
    if (blocked) { c.stdout.pause(); c.stderr.pause(); }
    c.once('error', (err) => {
      children.delete(id);
      send(id, 3, json({ message: String(err && err.message), code: err && err.code }));
    });
    c.once('close', (code, signal) => {
      if (!children.delete(id)) return;
      send(id, 2, json({ code, signal }));
    });
    return;
  }
  const c = children.get(id);
  if (!c) return;
  if (kind === 1) c.stdin.write(payload);
  else if (kind === 2) c.stdin.end();
  else if (kind === 3) kill(c);
}
let pending = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 9) {
    const length = pending.readUInt32LE(5);
    if (pending.length < 9 + length) break;
    handle(pending.readUInt32LE(0), pending.readUInt8(4), pending.subarray(9, 9 + length));
    pending = pending.subarray(9 + length);
  }
});
process.stdin.on('end', () => { for (const c of children.values()) kill(c); process.exit(0); });
process.stdout.on('error', () => { for (const c of children.values()) kill(c); process.exit(0); });
`;

/** Frame kinds sent to the helper. */
const TO_SPAWN = 0;
const TO_STDIN = 1;
const TO_STDIN_END = 2;
const TO_KILL = 3;
/** Frame kinds received from the helper. */
const FROM_STDOUT = 0;
const FROM_STDERR = 1;
const FROM_EXIT = 2;
const FROM_ERROR = 3;
const HEADER_BYTES = 9;

/** A program started through the helper: the parts of a `ChildProcess` the providers use. */
export interface LaunchedProcess {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the program exits; rejects when it could not be started or the helper died. */
  readonly exited: Promise<ExitResult>;
  /** Writes to the program's stdin; false when the pipe is full (wait for `drained()`). */
  writeStdin(data: Uint8Array): boolean;
  /** Resolves when the pipe written by `writeStdin` has room again. */
  drained(): Promise<void>;
  /** Ends the program's stdin, after writing `data` when given. */
  endStdin(data?: Uint8Array): void;
  /** SIGKILL (the whole process group when started `detached`); a no-op once it exited. */
  kill(): void;
}

interface Job {
  stdout: PassThrough;
  stderr: PassThrough;
  resolve(exit: ExitResult): void;
  reject(err: Error): void;
}

function frame(id: number, kind: number, payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32LE(id, 0);
  head.writeUInt8(kind, 4);
  head.writeUInt32LE(payload.length, 5);
  return Buffer.concat([head, payload]);
}

class Helper {
  private readonly child: ChildProcess;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  dead = false;

  constructor(onDead: () => void) {
    this.child = spawn(process.execPath, ['-e', HELPER_SOURCE], {
      stdio: ['pipe', 'pipe', 'ignore'],
      // The helper runs plain Node: no loader flags of this process (tsx, test runners).
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const die = (reason: string) => {
      if (this.dead) return;
      this.dead = true;
      onDead();
      for (const job of this.jobs.values()) {
        job.reject(new Error(`process helper ${reason}`));
        job.stdout.end();
        job.stderr.end();
      }
      this.jobs.clear();
      killQuietly(this.child);
    };
    this.child.once('error', (err) => die(`failed: ${err.message}`));
    this.child.once('exit', (code, signal) => die(`exited (${code ?? signal})`));
    this.child.stdin?.on('error', () => die('stdin closed'));
    this.child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk));
    this.child.unref();
    this.updateRef();
  }

  launch(command: string, args: readonly string[], detached: boolean): LaunchedProcess {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fffe ? 1 : this.nextId + 1;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let settled = false;
    const exited = new Promise<ExitResult>((resolve, reject) => {
      this.jobs.set(id, {
        stdout,
        stderr,
        resolve: (exit) => {
          settled = true;
          resolve(exit);
        },
        reject: (err) => {
          settled = true;
          reject(err);
        },
      });
    });
    exited.catch(() => {});
    this.updateRef();
    this.send(id, TO_SPAWN, Buffer.from(JSON.stringify({ command, args, detached })));
    return {
      stdout,
      stderr,
      exited,
      writeStdin: (data) => settled || this.send(id, TO_STDIN, data),
      drained: () => this.drained(),
      endStdin: (data) => {
        if (settled) return;
        if (data && data.length > 0) this.send(id, TO_STDIN, data);
        this.send(id, TO_STDIN_END, Buffer.alloc(0));
      },
      kill: () => {
        if (!settled) this.send(id, TO_KILL, Buffer.alloc(0));
      },
    };
  }

  private send(id: number, kind: number, payload: Uint8Array): boolean {
    if (this.dead) return true;
    return this.child.stdin?.write(frame(id, kind, payload)) ?? true;
  }

  private drained(): Promise<void> {
    const stdin = this.child.stdin;
    if (this.dead || !stdin?.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
    });
  }

  /** The helper's pipes keep this process alive only while a program runs. */
  private updateRef(): void {
    const busy = this.jobs.size > 0;
    for (const stream of [this.child.stdin, this.child.stdout]) {
      const handle = stream as unknown as { ref?: () => void; unref?: () => void } | null;
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUInt32LE(5);
      if (this.pending.length < HEADER_BYTES + length) break;
      const id = this.pending.readUInt32LE(0);
      const kind = this.pending.readUInt8(4);
      const payload = this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
      this.pending = this.pending.subarray(HEADER_BYTES + length);
      this.dispatch(id, kind, payload);
    }
  }

  private dispatch(id: number, kind: number, payload: Buffer): void {
    const job = this.jobs.get(id);
    if (!job) return;
    switch (kind) {
      case FROM_STDOUT:
        job.stdout.write(Buffer.from(payload));
        return;
      case FROM_STDERR:
        job.stderr.write(Buffer.from(payload));
        return;
      case FROM_EXIT:
      case FROM_ERROR: {
        this.jobs.delete(id);
        this.updateRef();
        job.stdout.end();
        job.stderr.end();
        const body = JSON.parse(payload.toString('utf8')) as {
          code?: number | string | null;
          signal?: NodeJS.Signals | null;
          message?: string;
        };
        if (kind === FROM_EXIT) {
          job.resolve({
            code: typeof body.code === 'number' ? body.code : null,
            signal: body.signal ?? null,
          });
        } else {
          job.reject(Object.assign(new Error(body.message ?? 'spawn failed'), { code: body.code }));
        }
        return;
      }
      default:
        return;
    }
  }
}

let helper: Helper | null = null;

/**
 * Starts `command args` through the helper process (started on first use, restarted if it died).
 * No shell: `args` are passed as they are.
 */
export function launchProcess(
  command: string,
  args: readonly string[],
  options: { detached?: boolean } = {},
): LaunchedProcess {
  if (!helper || helper.dead) {
    const created: Helper = new Helper(() => {
      if (helper === created) helper = null;
    });
    helper = created;
  }
  return helper.launch(command, args, options.detached ?? false);
}

/** How a provider starts its program: through the helper (default) or with `spawn()` in this process. */
export type ProcessLauncher = 'helper' | 'direct';

/** Starts `command args` with `spawn()` in this process (blocks the event loop until the exec). */
export function spawnDirect(
  command: string,
  args: readonly string[],
  options: { detached?: boolean } = {},
): LaunchedProcess {
  const detached = options.detached ?? false;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached });
  const exited = waitForExit(child);
  exited.catch(() => {});
  child.stdin.on('error', () => {});
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    writeStdin: (data) => child.stdin.write(data),
    drained: () =>
      child.stdin.writableNeedDrain
        ? Promise.race([new Promise<void>((r) => child.stdin.once('drain', r)), exited.then(() => {})])
        : Promise.resolve(),
    endStdin: (data) => {
      if (data) child.stdin.end(data);
      else child.stdin.end();
    },
    kill: () => (detached ? killGroupQuietly(child) : killQuietly(child)),
  };
}

/** Starts a program the way `launcher` says. */
export function startProcess(
  launcher: ProcessLauncher,
  command: string,
  args: readonly string[],
  options: { detached?: boolean } = {},
): LaunchedProcess {
  return launcher === 'helper' ? launchProcess(command, args, options) : spawnDirect(command, args, options);
}
