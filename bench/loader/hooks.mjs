/**
 * Module hooks for the benchmark (see register.mjs): `.ts` files are compiled by the TypeScript
 * compiler with the project's settings (type-only syntax removed, nothing else changed).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  verbatimModuleSyntax: true,
  sourceMap: false,
  inlineSourceMap: true,
  inlineSources: true,
};

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) {
    return nextLoad(url, context);
  }
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  const out = ts.transpileModule(source, { compilerOptions, fileName: path });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
