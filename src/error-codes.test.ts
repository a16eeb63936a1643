import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, failureCode, isErrorCode } from './error-codes.ts';

const root = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.ts$/.test(e.name) && !/\.test(-d)?\.ts$/.test(e.name) ? [path] : [];
  });
}

/** `code | meaning | retryable | what to do` rows of docs/errors.md's tables. */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync(join(root, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \|[^|]+\| (\w+) \|[^|]+\|$/.exec(line);
    if (m) {
      expect(rows.has(m[1]!), `${m[1]} documented twice`).toBe(false);
      rows.set(m[1]!, m[2]!);
    }
  }
  return rows;
}

/** String literals written where a code goes: error constructors and the code-taking helpers. */
const CODE_SITES =
  /(?:new [A-Z]\w*Error|super|fail|protocolError|toColloquyError\([^,()]+,|refused\?\.|failureCode:)\(?\s*'([a-z0-9_]+)'/g;

/** Helpers that take a kind and build the code `prefix + kind`. */
const KIND_SITES = [
  { file: 'surfaces/rtvi/messages.ts', call: 'fail', prefix: 'rtvi_' },
  { file: 'json-limits.ts', call: 'refuse', prefix: 'json_' },
  { file: 'transports/livekit/incoming-data.ts', call: 'drop', prefix: 'livekit_data_' },
];

describe('error code catalogue', () => {
  it('holds each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(ERROR_CODES.length).toBeGreaterThan(200);
  });

  it('every code written in the sources is in the catalogue', () => {
    const used = new Map<string, string>();
    for (const file of sources(join(root, 'src'))) {
      const kinds = KIND_SITES.find((k) => file.endsWith(`src/${k.file}`));
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(CODE_SITES)) if (!kinds) used.set(m[1]!, file);
      if (!kinds) continue;
      const sites = text.matchAll(new RegExp(`\\b${kinds.call}\\(\\s*'([a-z0-9_]+)'`, 'g'));
      let count = 0;
      for (const m of sites) {
        used.set(kinds.prefix + m[1]!, file);
        count++;
      }
      expect(count, file).toBeGreaterThan(2);
    }
    expect(used.size).toBeGreaterThan(180);
    const unknown = [...used]
      .filter(([code]) => !isErrorCode(code))
      .map(([code, file]) => `${code} (${file})`);
    expect(unknown).toEqual([]);
  });

  it('docs/errors.md documents exactly the catalogue, each with whether it is retryable', () => {
    const rows = documented();
    expect([...rows.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, retryable] of rows) expect(['yes', 'no', 'sometimes'], code).toContain(retryable);
  });

  it('failureCode names a component failure from the catalogue, else internal_error', () => {
    expect(failureCode('vad')).toBe('vad_failed');
    expect(failureCode('tts-speak')).toBe('tts_speak_failed');
    expect(failureCode('session')).toBe('session_failed');
    expect(failureCode('made-up')).toBe('internal_error');
    expect(isErrorCode('vad_failed')).toBe(true);
    expect(isErrorCode('vad_failedx')).toBe(false);
  });
});
