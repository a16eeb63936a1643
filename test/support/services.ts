/**
 * Real database services for tests, started by the tests themselves on loopback ports in fresh temp
 * directories: Debian's `redis-server` and PostgreSQL (`/usr/lib/postgresql/<v>/bin`). Both are
 * installed by `.ci/run`; a missing one fails the test (never skips it). PostgreSQL refuses to run as
 * root, so as root the cluster belongs to the `postgres` system user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => done(new Error(`${what} did not start in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) done();
    };
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}):\n${seen}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RedisService {
  url: string;
  port: number;
  /** Stops the server (SIGKILL: as if it died). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a loopback port, nothing persisted. */
export async function startRedis(): Promise<RedisService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    await waitForLine(c, /Ready to accept connections/, 'redis-server');
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      if (child) await stopChild(child, 'SIGKILL');
    },
    restart: launch,
    stop: async () => {
      if (child) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresService {
  /** `postgres://colloquy@127.0.0.1:PORT/colloquy` */
  url: string;
  /** A fresh database on this server (for a test of its own), named from `prefix`; its URL. */
  createDatabase(prefix: string): string;
  stop(): Promise<void>;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error('PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)');
}

/** Starts a throwaway PostgreSQL cluster on a loopback port (trust auth, user and database `colloquy`). */
export async function startPostgres(): Promise<PostgresService> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  let uid = 0;
  let gid = 0;
  if (asRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const spawnOpts = asRoot ? { uid, gid } : {};
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'colloquy', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'],
    { stdio: 'pipe', ...spawnOpts, cwd: dir },
  );
  const port = await freePort();
  const child = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts, cwd: dir },
  );
  await waitForLine(child, /ready to accept connections/, 'postgres');
  let made = 0;
  const createDatabase = (prefix: string) => {
    // A new name each time (a retried test gets a fresh database too).
    const name = made++ === 0 && prefix === 'colloquy' ? prefix : `${prefix}_${made}`;
    execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'colloquy', name], {
      stdio: 'pipe',
      ...spawnOpts,
      cwd: dir,
    });
    return `postgres://colloquy@127.0.0.1:${port}/${name}`;
  };
  createDatabase('colloquy');
  return {
    url: `postgres://colloquy@127.0.0.1:${port}/colloquy`,
    createDatabase,
    stop: async () => {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
