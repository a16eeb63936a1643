/**
 * The `colloquy` command.
 *
 *   colloquy start      run the server (checks its setup first; see `colloquy start --help`)
 *   colloquy console    talk to an agent from the terminal
 *   colloquy init       scaffold an agent project
 *   colloquy --version  the package version
 *
 * The process always ends with an explicit `process.exit` (the WebRTC binding crashes at natural
 * exit), done by bin/colloquy.js.
 */
import { isColloquyError } from '../errors.ts';
import { HELP, USAGE } from './help.ts';
import { type CliIo, processIo } from './io.ts';
import { packageVersion } from './version.ts';

export { USAGE } from './help.ts';

export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  io: CliIo = processIo,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    io.out(packageVersion());
    return 0;
  }
  if (command === 'help') {
    const topic = rest[0];
    if (topic === undefined) io.out(USAGE);
    else if (HELP[topic]) io.out(HELP[topic]);
    else {
      io.err(`colloquy: no command "${topic}"\n\n${USAGE}`);
      return 2;
    }
    return 0;
  }
  const help = HELP[command];
  if (!help) {
    io.err(`colloquy: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(help);
    return 0;
  }
  // Each command loads its own modules: `--version`, help and `init` never load the server.
  try {
    switch (command) {
      case 'start':
        return await (await import('./start.ts')).startCommand(rest, env, io);
      case 'console':
        return await (await import('./console.ts')).consoleCommand(rest, env, io);
      case 'init':
        return await (await import('./init.ts')).initCommand(rest, io);
      default:
        io.out(help);
        return 0;
    }
  } catch (err) {
    if (isColloquyError(err)) {
      io.err(`colloquy ${command}: ${err.message}\n(colloquy ${command} --help shows the options)`);
      return 2;
    }
    throw err;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
