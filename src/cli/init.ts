/**
 * `colloquy init [dir] [--ts|--json]`: writes a small agent project that runs offline at once (a
 * scripted LLM stands in for a real model). Existing files are never overwritten.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseArgs } from './args.ts';
import type { CliIo } from './io.ts';
import { packageVersion } from './version.ts';

const SCRIPT = {
  rules: [
    {
      when: 'open|hours|time',
      call: { name: 'opening_hours', args: { day: 'today' } },
      say: 'We are open from {{result.opens}} to {{result.closes}} today.',
    },
    { when: 'menu|food|eat', call: { name: 'show_menu', args: {} }, say: 'I put the menu on your screen.' },
    { when: '^(hello|hi|hey)\\b', say: 'Hello! Ask me when we are open, or for the menu.' },
    { when: 'thank', say: 'You are welcome!' },
  ],
  fallback: 'I can tell you when we are open, or show you the menu.',
};

/** The JSON agent's script: opening hours are in the reply itself (JSON tools here are client-side). */
const JSON_SCRIPT = {
  rules: [
    { when: 'open|hours|time', say: 'We are open from eight in the morning to six in the evening.' },
    ...SCRIPT.rules.slice(1),
  ],
  fallback: SCRIPT.fallback,
};

const GRAMMAR = `#JSGF V1.0;

grammar agent;

public <utterance> = hello | hi there | when are you open | what time do you open | show me the menu | thank you;
`;

function jsonFiles(name: string): Record<string, string> {
  const config = {
    greeting: 'Hello! Ask me when we are open, or for the menu.',
    agents: [
      {
        name: 'host',
        instructions: 'You are the host of a small cafe. Answer in one short spoken sentence.',
        tools: ['show_menu'],
      },
    ],
    tools: [
      {
        name: 'show_menu',
        kind: 'client_event',
        description: 'Show the menu on the guest screen.',
        config: { topic: 'custom.show_menu' },
      },
    ],
    models: { llm: 'scripted:script.json', stt: 'pocketsphinx:grammar.jsgf', tts: 'espeak', vad: 'energy' },
  };
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: {
          start: 'colloquy start --config agent.json',
          console: 'colloquy console --config agent.json',
        },
        dependencies: { colloquy: `^${packageVersion()}` },
      },
      null,
      2,
    )}\n`,
    'agent.json': `${JSON.stringify(config, null, 2)}\n`,
    'script.json': `${JSON.stringify(JSON_SCRIPT, null, 2)}\n`,
    'grammar.jsgf': GRAMMAR,
    'README.md': `# ${name}

A Colloquy voice agent defined in JSON (\`agent.json\`). It runs offline: a scripted LLM
(\`script.json\`: regex rules → tool call and reply), pocketsphinx with a grammar (\`grammar.jsgf\`),
eSpeak NG and an energy VAD (Debian: \`apt install espeak-ng pocketsphinx pocketsphinx-en-us\`).

\`\`\`bash
npm install
npm start          # the server and its playground page: http://localhost:8080/
npm run console    # talk to the agent from this terminal
\`\`\`

Use a real model: \`npm install @ai-sdk/openai\`, set \`OPENAI_API_KEY\` and change \`models\` in
\`agent.json\` to \`{ "llm": "openai:gpt-4.1-mini", "stt": "openai:gpt-4o-mini-transcribe",
"tts": "openai:gpt-4o-mini-tts" }\`.
`,
  };
}

const AGENT_TS = `import { createInterface } from 'node:readline';
import { tool } from 'ai';
import { createScriptedModel, parseScript, VoiceSession } from 'colloquy';
import { z } from 'zod';

// A deterministic, offline stand-in for an LLM: regex rules -> a tool call and/or a reply.
// For a real model: npm install @ai-sdk/openai, then
//   import { openai } from '@ai-sdk/openai';  ...  model: openai('gpt-4.1-mini')
const model = createScriptedModel(parseScript(${JSON.stringify(
  { rules: SCRIPT.rules.filter((r) => r.call?.name !== 'show_menu'), fallback: SCRIPT.fallback },
  null,
  2,
).replace(/\n/g, '\n')}));

export const session = new VoiceSession({
  userId: 'terminal-user',
  model,
  agents: [
    {
      name: 'host',
      instructions: 'You are the host of a small cafe. Answer in one short sentence.',
      tools: {
        opening_hours: tool({
          description: 'Opening hours for a day',
          inputSchema: z.object({ day: z.string() }),
          execute: async ({ day }) => ({ day, opens: '8 am', closes: '6 pm' }),
        }),
      },
    },
  ],
});

let answering = false;
session.eventBus.subscribe('tool.call', ({ name, args }) => console.log(\`[tool] \${name} \${JSON.stringify(args)}\`));
session.eventBus.subscribe('llm.text.delta', ({ text }) => {
  if (!answering) process.stdout.write('agent: ');
  answering = true;
  process.stdout.write(text);
});

const lines = createInterface({ input: process.stdin });
process.stdout.write('Type a message (Ctrl-D to quit)\\n');
for await (const line of lines) {
  if (!line.trim()) continue;
  await session.sendText(line);
  if (answering) process.stdout.write('\\n');
  answering = false;
}
await session.close();
`;

function tsFiles(name: string): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: { start: 'tsx agent.ts', typecheck: 'tsc --noEmit' },
        dependencies: { ai: '^6.0.0', colloquy: `^${packageVersion()}`, zod: '^4.0.0' },
        devDependencies: { '@types/node': '^20.0.0', tsx: '^4.0.0', typescript: '^5.9.0' },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
    'agent.ts': AGENT_TS,
    'README.md': `# ${name}

A Colloquy agent in TypeScript (\`agent.ts\`) with a tool. It runs offline: a scripted LLM
(regex rules → tool call and reply) stands in for a real model.

\`\`\`bash
npm install
npm start          # type a message, read the agent's answer
\`\`\`

Use a real model: \`npm install @ai-sdk/openai\`, set \`OPENAI_API_KEY\`, and pass
\`openai('gpt-4.1-mini')\` as \`model\`. Add \`audio: { vad, stt, tts, output }\` to make it a voice
session (see Colloquy's docs/audio.md).
`,
  };
}

export async function initCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { switches: ['ts', 'json'] });
  if (flags.has('ts') && flags.has('json'))
    throw new ConfigError('invalid_argument', 'choose --ts or --json, not both');
  if (positionals.length > 1)
    throw new ConfigError('invalid_argument', `one directory, got ${positionals.join(' ')}`);
  const dir = resolve(positionals[0] ?? '.');
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-') || 'colloquy-agent';
  const files = flags.has('json') ? jsonFiles(name) : tsFiles(name);
  const clashes = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clashes.length) {
    io.err(
      `colloquy init: ${dir} already has ${clashes.join(', ')}; nothing was written (use an empty directory)`,
    );
    return 1;
  }
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { flag: 'wx' });
  io.out(
    `Created a ${flags.has('json') ? 'JSON' : 'TypeScript'} agent in ${dir}: ${Object.keys(files).join(', ')}`,
  );
  io.out(`Next: cd ${positionals[0] ?? '.'} && npm install && npm start`);
  return 0;
}
