/**
 * Event-loop stall per eSpeak NG utterance: how long this process's event loop (and with it every
 * session's real-time audio) stops while one utterance is started and synthesised, with the program
 * started by `spawn()` in this process ('direct', the old way) and through the helper process
 * ('helper', the default). A 1 ms timer measures the longest gap between its ticks during each
 * utterance; 'idle' is the same measurement over a plain wait as long as the last utterance: the
 * machine's own scheduling noise.
 */

import { findExecutable } from '../src/providers/local/child-process.ts';
import { EspeakTts } from '../src/providers/local/espeak-tts.ts';
import { type Summary, sleep, summarize } from './stats.ts';

export interface EspeakStartResult {
  utterances: number;
  /** Longest event-loop stall during one utterance, ms. */
  idleStallMs: Summary;
  directStallMs: Summary;
  helperStallMs: Summary;
}

/** Runs `work` while a 1 ms timer watches the loop; returns the longest gap between ticks, ms. */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
    const now = performance.now();
    return Math.max(longest, now - last);
  } finally {
    clearInterval(timer);
  }
}

async function speak(tts: EspeakTts, i: number): Promise<void> {
  for await (const _ of tts.synthesize({ text: `This is sentence number ${i}.` })) {
    // drain
  }
}

export async function runEspeakStart(options: {
  utterances: number;
}): Promise<EspeakStartResult | undefined> {
  if (!(await findExecutable('espeak-ng'))) return undefined;
  const direct = new EspeakTts({ backend: 'cli', launcher: 'direct' });
  const helper = new EspeakTts({ backend: 'cli', launcher: 'helper' });
  // Start the helper and warm both paths outside the numbers.
  await speak(helper, 0);
  await speak(direct, 0);
  const idle: number[] = [];
  const directStalls: number[] = [];
  const helperStalls: number[] = [];
  let lastMs = 150;
  // Interleaved, so that a change in the machine's load falls on all three alike.
  for (let i = 0; i < options.utterances; i++) {
    idle.push(await longestStall(() => sleep(lastMs)));
    directStalls.push(await longestStall(() => speak(direct, i)));
    const started = performance.now();
    helperStalls.push(await longestStall(() => speak(helper, i)));
    lastMs = performance.now() - started;
  }
  return {
    utterances: options.utterances,
    idleStallMs: summarize(idle, 1),
    directStallMs: summarize(directStalls, 1),
    helperStallMs: summarize(helperStalls, 1),
  };
}

export function printEspeakStart(r: EspeakStartResult | undefined): void {
  if (!r) {
    process.stdout.write('\neSpeak NG start: espeak-ng not found, skipped\n');
    return;
  }
  const row = (name: string, s: Summary) =>
    `  ${name.padEnd(34)} p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms  mean ${s.mean} ms  (n=${s.n})`;
  process.stdout.write(
    `\neSpeak NG start — longest event-loop stall per utterance (${r.utterances} short sentences each)\n`,
  );
  process.stdout.write(`${row('idle (a wait as long, no speech)', r.idleStallMs)}\n`);
  process.stdout.write(`${row("spawn() in this process ('direct')", r.directStallMs)}\n`);
  process.stdout.write(`${row("through the helper ('helper')", r.helperStallMs)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runEspeakStart({ utterances: 20 }).then(
    (r) => {
      printEspeakStart(r);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
