#!/usr/bin/env node
// The `colloquy` command: runs the compiled CLI (dist/, built by `npm run build`, which `npm install`
// runs in a clone through the `prepare` script).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('colloquy: the CLI is not built (dist/ is missing): run `npm run build`');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
