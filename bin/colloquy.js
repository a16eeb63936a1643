#!/usr/bin/env node
// Runs the TypeScript CLI in-process through tsx's loader (Colloquy ships its sources; no build step).
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  console.error('colloquy: the "tsx" package is missing (npm install tsx)');
  process.exit(1);
}
register();
const { main } = await import('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
