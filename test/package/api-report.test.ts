/**
 * The public API is recorded in api/*.api.md. This fails when the built package's exports or their
 * declarations differ from the record: change the record on purpose with `npm run api`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe('API report', () => {
  it('api/*.api.md matches the built package (run `npm run api` after a deliberate change)', async () => {
    const result = await run('node', ['scripts/api-report.mjs', '--check'], { cwd: root }).catch(
      (err: { stderr: string }) => ({ stderr: err.stderr }),
    );
    expect(result.stderr).toBe('');
  }, 300_000);

  it('records every runtime export of "colloquy" with its declaration', async () => {
    const report = await readFile(join(root, 'api/colloquy.api.md'), 'utf8');
    expect(report).toContain('- `VoiceSession` (function)');
    expect(report).toMatch(/### VoiceSession\n\n```ts\nclass VoiceSession /);
    expect(report).toMatch(/### VoiceSessionOptions \(type only\)\n\n```ts\ninterface VoiceSessionOptions/);
  });
});
