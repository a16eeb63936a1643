/**
 * The `colloquy` command as a child process: `--version`, help per command (which never starts
 * anything), `init` projects that run offline at once, and `console` talking to an agent.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../e2e/helpers.ts';
import { cleanEnv, colloquy, ROOT } from './run.ts';

const run = promisify(execFile);
const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

describe('colloquy --version and help', () => {
  it('--version and -v print the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await colloquy([flag]);
      expect([r.code, r.stdout.trim()]).toEqual([0, version]);
    }
  }, 60_000);

  it('each command has its own help, shown by --help without running the command', async () => {
    const start = await colloquy(['start', '--help'], { env: cleanEnv({ PORT: '0' }), timeoutMs: 15_000 });
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/^Usage: colloquy start /);
    expect(start.stdout).not.toMatch(/listening/i);
    for (const [args, first] of [
      [['console', '-h'], 'Usage: colloquy console '],
      [['init', '--help'], 'Usage: colloquy init '],
      [['help', 'start'], 'Usage: colloquy start '],
      [['--help'], 'Usage: colloquy <command>'],
      [[], 'Usage: colloquy <command>'],
    ] as const) {
      const r = await colloquy([...args]);
      expect([args, r.code, r.stdout.startsWith(first)]).toEqual([args, 0, true]);
    }
  }, 120_000);

  it('an unknown command or option exits 2 with one line and the usage', async () => {
    const cmd = await colloquy(['serve']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/^colloquy: unknown command "serve"\n\nUsage: colloquy <command>/);
    const opt = await colloquy(['start', '--prot', '80']);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/^colloquy start: unknown option --prot\n/);
  }, 60_000);
});

describe('colloquy init', () => {
  // Inside the repository so `ai`, `zod` and `tsx` resolve from its node_modules; `colloquy` is
  // linked to the built package.
  let dir: string;
  beforeAll(async () => {
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    dir = await mkdtemp(join(ROOT, '.tmp', 'init-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const linkColloquy = async (project: string) => {
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await symlink(ROOT, join(project, 'node_modules', 'colloquy'));
  };

  it('--ts writes a TypeScript agent that type-checks and answers at once, offline, with its tool', async () => {
    const project = join(dir, 'cafe-ts');
    const r = await colloquy(['init', project]);
    expect(r.code).toBe(0);
    expect((await readdir(project)).sort()).toEqual([
      'README.md',
      'agent.ts',
      'package.json',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(await readFile(join(project, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      type: 'module',
      dependencies: { colloquy: `^${version}` },
      scripts: { start: 'tsx agent.ts' },
    });
    await linkColloquy(project);
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
    });
    const chat = await runWithInput(project, 'when are you open today?\n');
    expect(chat.split('\n')).toEqual([
      'Type a message (Ctrl-D to quit)',
      '[tool] opening_hours {"day":"today"}',
      'agent: We are open from 8 am to 6 pm today.',
      '',
    ]);
  }, 180_000);

  it('--json writes a JSON agent that `colloquy start` accepts and `colloquy console` talks to', async () => {
    const project = join(dir, 'cafe-json');
    const r = await colloquy(['init', project, '--json']);
    expect(r.code).toBe(0);
    expect((await readdir(project)).sort()).toEqual([
      'README.md',
      'agent.json',
      'grammar.jsgf',
      'package.json',
      'script.json',
    ]);
    const chat = await colloquy(['console', '--config', join(project, 'agent.json'), '--text'], {
      env: cleanEnv(),
      input: 'when are you open\nshow me the menu\n',
      timeoutMs: 60_000,
    });
    expect(chat.code).toBe(0);
    expect(chat.stdout).toContain('● agent ready');
    // `--text` is a text chat: the greeting comes as text (there is no speech to wait for).
    expect(chat.stdout).toContain('agent: Hello! Ask me when we are open, or for the menu.');
    expect(chat.stdout).toContain('agent: We are open from eight in the morning to six in the evening.');
    expect(chat.stdout).toContain('⚙ show_menu({})');
    expect(chat.stdout).toContain('⇢ custom.show_menu {}');
    expect(chat.stdout).toMatch(/⏱ turn \d+ ms/);
  }, 120_000);

  it('never overwrites: a second init into the same directory writes nothing and says why', async () => {
    const project = join(dir, 'twice');
    expect((await colloquy(['init', project, '--json'])).code).toBe(0);
    const again = await colloquy(['init', project, '--json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /already has package\.json, agent\.json, script\.json, grammar\.jsgf, README\.md; nothing was written/,
    );
  });
});

async function runWithInput(cwd: string, input: string): Promise<string> {
  const child = execFile(process.execPath, ['--import', 'tsx', 'agent.ts'], {
    cwd,
    env: cleanEnv(),
    timeout: 30_000,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer | string) => {
    out += d.toString();
  });
  child.stdin!.end(input);
  await new Promise((r) => child.on('close', r));
  return out;
}

describe('colloquy console --url', () => {
  it('talks to a running server over the Pipecat WebSocket transport and shows the events', async () => {
    const server = await startTestServer({ env: { COLLOQUY_VAD: 'energy' } });
    try {
      const chat = await colloquy(['console', '--url', server.url, '--text'], {
        env: cleanEnv(),
        input: 'show me the map\n',
        timeoutMs: 60_000,
      });
      expect(chat.code).toBe(0);
      expect(chat.stdout).toContain('agent: Hello! I am the Colloquy demo concierge.');
      expect(chat.stdout).toContain('⚙ show_map({"place":"lobby"})');
      // Printed once: streamed as it was written, not again when the turn ended.
      expect(chat.stdout.split('agent: I put a map of the lobby on your screen.')).toHaveLength(2);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('an unreachable server is one line', async () => {
    const r = await colloquy(['console', '--url', 'http://127.0.0.1:9', '--text'], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^colloquy console: cannot reach http:\/\/127\.0\.0\.1:9: /);
  }, 60_000);
});
