import { describe, expect, it } from 'vitest';
import { captureTail } from './child-process.ts';
import { type LaunchedProcess, launchProcess, spawnDirect } from './process-launcher.ts';

const text = async (stream: NodeJS.ReadableStream) => {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
};

/** The first line the program prints (its parent's pid in these tests). */
function firstLine(child: LaunchedProcess): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const end = seen.indexOf('\n');
      if (end >= 0) resolve(seen.slice(0, end));
    });
  });
}

describe('launchProcess (programs started by the helper process)', () => {
  it('passes stdin, stdout, stderr and the exit code through', async () => {
    const child = launchProcess('/bin/sh', ['-c', 'tr a-z A-Z; echo problem >&2; exit 3']);
    const stderr = captureTail(child.stderr);
    child.writeStdin(Buffer.from('hello '));
    child.endStdin(Buffer.from('world'));
    const [out, exit] = await Promise.all([text(child.stdout), child.exited]);
    expect(out).toBe('HELLO WORLD');
    expect(exit).toEqual({ code: 3, signal: null });
    expect(stderr()).toBe('problem');
  });

  it('carries binary output unchanged, also when it is larger than a pipe buffer', async () => {
    const child = launchProcess('/bin/sh', ['-c', 'head -c 300000 /dev/zero | tr "\\0" "\\377"']);
    child.endStdin();
    const chunks: Buffer[] = [];
    for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    expect(all.length).toBe(300_000);
    expect(all.every((b) => b === 0xff)).toBe(true);
    expect((await child.exited).code).toBe(0);
  });

  it('writing to a program that reads slowly waits for drained(), and every byte arrives', async () => {
    const child = launchProcess('/bin/sh', ['-c', 'sleep 0.2; wc -c']);
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let waited = 0;
    while (written < 8 * 1024 * 1024) {
      written += chunk.length;
      if (!child.writeStdin(chunk)) {
        waited++;
        await child.drained();
      }
    }
    child.endStdin();
    expect(Number((await text(child.stdout)).trim())).toBe(written);
    expect(waited).toBeGreaterThan(0);
  });

  it('starts the program from another process, not from this one (spawn would block this event loop)', async () => {
    const launched = launchProcess('/bin/sh', ['-c', 'echo $PPID']);
    launched.endStdin();
    const helperPid = Number(await firstLine(launched));
    const direct = spawnDirect('/bin/sh', ['-c', 'echo $PPID']);
    direct.endStdin();
    expect(Number(await firstLine(direct))).toBe(process.pid);
    expect(helperPid).toBeGreaterThan(0);
    expect(helperPid).not.toBe(process.pid);
    await Promise.all([launched.exited, direct.exited]);
  });

  it('runs programs side by side, each with its own output', async () => {
    const runs = Array.from({ length: 6 }, (_, i) => {
      const child = launchProcess('/bin/sh', ['-c', `sleep 0.0${i}; echo run-${i}`]);
      child.endStdin();
      return text(child.stdout);
    });
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 6 }, (_, i) => `run-${i}\n`));
  });

  it('kills a running program', async () => {
    const child = launchProcess('/bin/sh', ['-c', 'echo started; exec sleep 30']);
    await firstLine(child);
    child.kill();
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('rejects when the program cannot be started', async () => {
    const child = launchProcess('/no/such/program', []);
    await expect(child.exited).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails the running programs when the helper dies, and starts a new helper for the next', async () => {
    const child = launchProcess('/bin/sh', ['-c', 'echo $PPID; exec sleep 5']);
    const helperPid = Number(await firstLine(child));
    process.kill(helperPid, 'SIGKILL');
    await expect(child.exited).rejects.toThrow(/process helper/);
    const next = launchProcess('/bin/sh', ['-c', 'echo $PPID']);
    next.endStdin();
    const nextPid = Number(await firstLine(next));
    expect(nextPid).not.toBe(helperPid);
    expect(nextPid).not.toBe(process.pid);
    expect((await next.exited).code).toBe(0);
  });
});
