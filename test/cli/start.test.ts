/**
 * `colloquy start` / `npm start` as child processes: the start checks refuse with one line per
 * problem (no stack traces), a taken port is one line, and SIGTERM/SIGINT end every session with
 * `conversation-end` before the process exits 0.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectRaw, serverMessages } from '../e2e/helpers.ts';
import { BIN, cleanEnv, colloquy, launch } from './run.ts';

/** Command lines of a process's children (Linux /proc). */
async function childrenOf(pid: number): Promise<string[][]> {
  const out: string[][] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid)
        out.push((await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const problemLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('  ✗ '))
    .map((l) => l.slice(4));

describe('colloquy start refuses a bad setup before listening, one line per problem', () => {
  it('bad environment values', async () => {
    const r = await colloquy(['start'], {
      env: cleanEnv({
        PORT: 'eighty',
        COLLOQUY_LOG_LEVEL: 'verbose',
        COLLOQUY_LOG_FORMAT: 'xml',
        COLLOQUY_IDLE_TIMEOUT_MS: 'soon',
        COLLOQUY_RTVI_EVENTS: 'maybe',
      }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/listening/i);
    expect(problemLines(r.stderr)).toEqual([
      'PORT="eighty" is not a port: set a whole number from 0 to 65535',
      'COLLOQUY_LOG_LEVEL="verbose" is not a level: use debug, info, warn, error, silent',
      'COLLOQUY_LOG_FORMAT="xml" is not a format: use human or json',
      'COLLOQUY_IDLE_TIMEOUT_MS="soon" is not a duration: set a positive whole number of milliseconds',
      'COLLOQUY_RTVI_EVENTS="maybe" is not a switch: use true or false',
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('bad model specs, missing keys, missing or broken files, an unresolvable HOST', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-start-'));
    await writeFile(join(dir, 'broken.json'), '{ "rules": [');
    await writeFile(join(dir, 'bad.jsgf'), '#JSGF V1.0;\ngrammar g;\npublic <s> = ( hello | ;\n');
    await writeFile(
      join(dir, 'agent.json'),
      JSON.stringify({
        agents: [{ name: 'a', instructions: 'x', model: 'anthropic:claude-sonnet-4-5' }],
        configurations: {
          broken: { models: { llm: 'scripted:broken.json', stt: 'pocketsphinx:bad.jsgf' } },
          missing: { models: { llm: 'scripted:missing.json', stt: 'pocketsphinx:nowhere.jsgf' } },
        },
      }),
    );
    const r = await colloquy(['start', '--config', join(dir, 'agent.json')], {
      env: cleanEnv({
        HOST: 'no-such-host.invalid',
        COLLOQUY_LLM: 'foo:bar',
        COLLOQUY_STT: 'whisper',
        COLLOQUY_TTS: 'openai:gpt-4o-mini-tts',
        COLLOQUY_VAD: 'silero:/nowhere/silero.onnx',
      }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = problemLines(r.stderr);
    expect(lines).toEqual([
      'HOST="no-such-host.invalid" does not resolve: set an IP address or a host name of this machine',
      'LLM "foo:bar": unknown provider "foo" in "foo:bar" (use openai, anthropic, google, groq, openai-compatible, scripted, openai-realtime or google-live)',
      'LLM "anthropic:claude-sonnet-4-5" needs an API key: set ANTHROPIC_API_KEY',
      `LLM "scripted:broken.json": ${join(dir, 'broken.json')} is not valid JSON`,
      `LLM "scripted:missing.json": Cannot read script file ${join(dir, 'missing.json')}`,
      'STT "whisper": unknown provider "whisper" in "whisper" (use pocketsphinx, deepgram, openai, groq or openai-compatible)',
      expect.stringMatching(
        /^STT "pocketsphinx:bad\.jsgf": pocketsphinx could not decode with it \(.*\): check the grammar's JSGF syntax$/,
      ),
      `STT "pocketsphinx:nowhere.jsgf": grammar file ${join(dir, 'nowhere.jsgf')} not found: fix the path`,
      'TTS "openai:gpt-4o-mini-tts" needs an API key: set OPENAI_API_KEY',
      'VAD "silero:/nowhere/silero.onnx": Silero model file /nowhere/silero.onnx not found: fix the path',
    ]);
  }, 90_000);

  it('speech recognition that cannot work: pocketsphinx not installed, a cloud recogniser without its key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-start-'));
    await writeFile(
      join(dir, 'agent.json'),
      JSON.stringify({
        agents: [{ name: 'a', instructions: 'x' }],
        configurations: { cloud: { models: { stt: 'deepgram:nova-3' } } },
      }),
    );
    // No program on PATH: pocketsphinx_continuous (and espeak-ng) cannot be found.
    const r = await colloquy(['start', '--config', join(dir, 'agent.json')], {
      env: cleanEnv({ PATH: join(dir, 'no-programs') }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/listening/i);
    const lines = problemLines(r.stderr);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^STT "pocketsphinx:.*demo\.jsgf" needs the pocketsphinx_continuous program: apt install pocketsphinx pocketsphinx-en-us$/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^STT "deepgram:nova-3": .*set DEEPGRAM_API_KEY/));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('a port in use is one line saying what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await colloquy(['start', '--port', String(port), '--host', '127.0.0.1'], { env: cleanEnv() });
      expect(r.code).toBe(1);
      expect(problemLines(r.stderr)).toEqual([
        `port ${port} is already in use on 127.0.0.1: stop the other server, or set PORT to a free port (PORT=0 picks one)`,
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a PostgreSQL store that cannot be reached is one line naming it (never the password)', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    blocker.close(); // nothing listens there now
    const r = await colloquy(['start', '--port', '0', '--host', '127.0.0.1'], {
      env: cleanEnv({ COLLOQUY_STORE: `postgres://colloquy:hunter2secret@127.0.0.1:${port}/colloquy` }),
    });
    expect(r.code).toBe(1);
    expect(problemLines(r.stderr)).toEqual([
      `Cannot open the session store postgres://127.0.0.1:${port}/colloquy: connection refused (is PostgreSQL running there?) (check COLLOQUY_STORE: the server address, the database name, the user and the password)`,
    ]);
    expect(r.stderr).not.toContain('hunter2secret');
  }, 60_000);
});

describe('graceful shutdown', () => {
  it('npm start runs the built CLI with node (no tsx); SIGTERM to npm ends the session with conversation-end and exits 0', async () => {
    // An in-memory store: nothing to resume after a restart, so the conversation ends (with a durable
    // store it is suspended instead: test/cli/restart-resume.test.ts).
    const run = launch('npm', ['start', '--silent'], {
      env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', COLLOQUY_STORE: 'memory' }),
    });
    const [, url] = (await run.waitFor(/Colloquy listening on (http:\/\/\S+)/, 60_000)) as RegExpMatchArray;
    // npm's only child is the server itself: `node bin/colloquy.js start` (no shell in between that
    // would swallow the signal, no tsx loader).
    expect(await childrenOf(run.child.pid!)).toEqual([['node', 'bin/colloquy.js', 'start']]);
    const client = await connectRaw(url!);
    await client.ready();
    run.child.kill('SIGTERM');
    const closeCode = await client.closed;
    expect(serverMessages(client)).toContainEqual({
      type: 'conversation-end',
      data: { reason: 'server_shutdown' },
    });
    expect(closeCode).toBe(1000);
    const done = await run.exited;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('SIGTERM: ending 1 session(s)');
    expect(done.stdout).toContain('Colloquy stopped');
  }, 90_000);

  it('SIGINT to the colloquy command does the same', async () => {
    // One process (the test above runs the default, a primary with its workers).
    const run = launch(process.execPath, [BIN, 'start'], {
      env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', COLLOQUY_STORE: 'memory', COLLOQUY_WORKERS: '1' }),
    });
    const [, url] = (await run.waitFor(/Colloquy listening on (http:\/\/\S+)/, 60_000)) as RegExpMatchArray;
    const client = await connectRaw(url!);
    await client.ready();
    run.child.kill('SIGINT');
    await client.closed;
    expect(serverMessages(client)).toContainEqual({
      type: 'conversation-end',
      data: { reason: 'server_shutdown' },
    });
    const done = await run.exited;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('SIGINT: ending 1 session(s)');
  }, 90_000);
});
