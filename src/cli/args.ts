/** A small argv parser for the `colloquy` command: positionals, `--flag`, `--flag value`, `--flag=value`. */
import { ConfigError } from '../errors.ts';

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * Parses `argv` against the flags a command knows: `valued` flags take the next word (or `=value`),
 * `switches` take none. An unknown flag is a `ConfigError` naming it.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { valued?: readonly string[]; switches?: readonly string[] },
): ParsedArgs {
  const valued = new Set(spec.valued ?? []);
  const switches = new Set([...(spec.switches ?? []), 'help', 'h']);
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/.exec(word);
    if (!m) {
      positionals.push(word);
      continue;
    }
    const name = m[1]!;
    if (switches.has(name)) {
      if (m[2] !== undefined) throw new ConfigError('invalid_argument', `--${name} takes no value`);
      flags.set(name === 'h' ? 'help' : name, true);
    } else if (valued.has(name)) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === '')
        throw new ConfigError('invalid_argument', `--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new ConfigError('invalid_argument', `unknown option ${word.split('=')[0]}`);
    }
  }
  return { positionals, flags };
}
