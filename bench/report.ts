/** Readable tables of a bench run (stdout). The JSON written next to it holds the same numbers. */
import type { BenchReport } from './run.ts';
import type { Summary } from './stats.ts';

type Cell = string | number;

function table(headers: Cell[], rows: Cell[][]): string {
  const all = [headers, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(all[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(2);
}

const row = (label: string, s: Summary, target = ''): Cell[] => [label, s.p50, s.p99, s.max, s.n, target];

export function printReport(r: BenchReport): void {
  const out: string[] = [];
  const { latencies: l, policy: p } = r.config;
  const m = r.machine;
  out.push(`\nColloquy voice pipeline benchmark — ${r.git}, ${r.startedAt}${r.quick ? ' (quick)' : ''}`);
  out.push(
    `Machine: ${m.cpuModel} × ${m.cpus}, ${m.totalMemGB} GB, node ${m.node} ${m.platform}/${m.arch}, load(1m) ${m.loadavg1m}`,
  );
  out.push(
    `Stand-in providers (fixed): STT final ${l.sttMs} ms after the utterance's audio ends, LLM first token ${l.llmMs} ms, TTS first audio ${l.ttsMs} ms`,
  );
  out.push(
    `Turn-taking policy: VAD minSpeech ${p.minSpeechMs} ms / minSilence ${p.minSilenceMs} ms, endpointing ${p.endpointingMs} ms, minInterruption ${p.minInterruptionMs} ms, pauseOnSpeech ${p.pauseOnSpeech}`,
  );
  out.push(
    'All times in ms unless named; numbers only, no pass/fail. Meaning of each row: docs/benchmarks.md.',
  );

  const t = r.turnLatency;
  out.push(`\n1. Turn latency — 1 session, ${t.turns} spoken turns, real-time 20 ms frames`);
  out.push(
    table(
      ['', 'p50', 'p99', 'max', 'n', 'target'],
      [
        row('end of user speech → first bot frame (raw)', t.rawFromSpeechEndMs),
        row(`  net: raw − ${t.nominalMs.fromSpeechEnd} nominal¹`, t.netFromSpeechEndMs),
        row('final transcript → first bot frame (raw)', t.rawFromFinalTranscriptMs),
        row(`  net: raw − ${t.nominalMs.fromFinalTranscript} nominal²`, t.netFromFinalTranscriptMs),
        row(
          'framework overhead per turn³',
          t.frameworkOverheadMs,
          `p50 ≤ ${r.targets.overheadP50Ms}, p99 ≤ ${r.targets.overheadP99Ms}`,
        ),
        ...Object.entries(t.segmentsMs).map(([k, s]) => row(`  ${k}`, s)),
        row('provider: STT (audio end → final)', t.providersMs.stt),
        row('provider: LLM (call → first token)', t.providersMs.llm),
        row('provider: TTS (call → first audio)', t.providersMs.tts),
      ],
    ),
  );
  out.push(
    `¹ minSilence ${p.minSilenceMs} + max(endpointing ${p.endpointingMs}, STT ${l.sttMs}) + LLM ${l.llmMs} + TTS ${l.ttsMs}: the VAD's silence hang and endpointing are policy, the rest are the providers' own latencies.`,
  );
  out.push(
    `² max(0, endpointing ${p.endpointingMs} − STT ${l.sttMs}) + LLM ${l.llmMs} + TTS ${l.ttsMs}. Net numbers still hold each stand-in's timer lateness (~1 ms per timer).`,
  );
  out.push(
    '³ the sum of the framework-owned gaps below (each provider span and policy timer measured and excluded).',
  );

  const a = r.bargeIn.pauseThenInterrupt;
  const b = r.bargeIn.immediate;
  out.push(
    `\n2. Barge-in — user talks over the bot; from VAD detection (user.speech.start). ${a.trials} + ${b.trials} trials`,
  );
  const pair = (label: string, x: Summary, y: Summary, target = ''): Cell[] => [
    label,
    x.p50,
    x.p99,
    y.p50,
    y.p99,
    target,
  ];
  out.push(
    table(
      [
        '',
        `pause+${a.policy.minInterruptionMs}ms p50`,
        'p99',
        `immediate(${b.policy.minInterruptionMs}ms) p50`,
        'p99',
        'target',
      ],
      [
        pair('deciding frame pushed → detection', a.detectionMs, b.detectionMs),
        pair('detection → output paused', a.detectToPauseMs, b.detectToPauseMs),
        pair('detection → interruption decided (raw)', a.detectToInterruptMs, b.detectToInterruptMs),
        pair(
          `  net of policy (${a.policyDecisionDelayMs} / ${b.policyDecisionDelayMs} ms)`,
          a.detectToInterruptNetMs,
          b.detectToInterruptNetMs,
        ),
        pair(
          'last bot frame written − detection',
          a.lastFrameAfterDetectMs,
          b.lastFrameAfterDetectMs,
          `≤ ${r.targets.bargeInStopMsAfterDetection}`,
        ),
        pair('bot frames written after detection', a.framesAfterDetect, b.framesAfterDetect, '≤ 1'),
        pair('bot frames written after the decision', a.framesAfterInterrupt, b.framesAfterInterrupt),
        [
          'trials stopped within one frame',
          `${a.withinOneFrame}/${a.trials}`,
          '',
          `${b.withinOneFrame}/${b.trials}`,
          '',
          '',
        ],
      ],
    ),
  );
  out.push(
    '   (a negative "last frame − detection" means the last bot frame left before the user was detected)',
  );

  out.push(
    `\n3. Concurrency — sessions in one process, each in spoken conversation (real-time 20 ms frames), steady-state window`,
  );
  out.push(
    table(
      [
        'VAD',
        'sessions',
        'turns',
        'CPU ms/s',
        '% core/session',
        'sessions/core',
        'heap MB/sess',
        'RSS MB/sess',
        'loop lag p50',
        'p99',
        'idle proc p99',
        'load',
        'overhead p50',
        'p99',
        'net wait p50',
        'p99',
        'pushAudio µs',
        'GC ms (n, max)',
      ],
      [
        ...r.concurrency.map((c): Cell[] => [
          c.vad,
          c.sessions,
          c.turnsInWindow,
          c.cpu.totalMsPerSecond,
          c.cpu.perSessionPctOfCore,
          c.cpu.sessionsPerCore,
          c.memory.heapPerSessionMB,
          c.memory.rssPerSessionMB,
          c.eventLoopLagMs.p50,
          c.eventLoopLagMs.p99,
          c.idleProcessLagMs?.p99 ?? '–',
          c.loadavg1m,
          c.frameworkOverheadMs.p50,
          c.frameworkOverheadMs.p99,
          c.netFromSpeechEndMs?.p50 ?? '–',
          c.netFromSpeechEndMs?.p99 ?? '–',
          c.pushAudioUs.mean,
          `${c.gc.pauseMs} (${c.gc.count}, ${c.gc.maxMs})`,
        ]),
        [
          'target',
          '',
          '',
          '',
          '',
          `≥ ${r.targets.sessionsPerCore}`,
          `≤ ${r.targets.mbPerSession}`,
          `≤ ${r.targets.mbPerSession}`,
          '',
          '',
          '',
          '',
          `≤ ${r.targets.overheadP50Ms}`,
          `≤ ${r.targets.overheadP99Ms}`,
          '',
          '',
          '',
          '',
        ],
      ],
    ),
  );
  out.push(
    '   Loop lag: this process; "idle proc": an idle Node process measured meanwhile (the machine\'s own noise); load: 1-min load average. Overhead: as in table 1, for the turns of the window. Net wait: end of speech (last speech frame pushed) → first bot frame minus the nominal 380 ms, what the user waits whatever the split (exact for the energy tone; Silero\'s sentence shifts it by a constant).',
  );
  out.push(
    '   CPU is the whole process (all threads: pipeline, stand-in providers, the load generator itself, ONNX runtime); sessions/core = 1 / (% core per session). Memory: heap / RSS growth after a full GC with the sessions alive, divided by their number (noisy at 1 session).',
  );
  // What made the p99 of the largest rows: GC pauses by kind, and the slowest turns' largest gap with
  // the GC inside it (the p99 of 200 turns is the second slowest).
  for (const c of r.concurrency) {
    if (c.sessions < 100) continue;
    const kinds = Object.entries(c.gc.byKind ?? {})
      .map(([kind, k]) => `${kind} ${k.count} (${k.ms} ms, max ${k.maxMs})`)
      .join(', ');
    const slow = c.slowest
      .map((t) => `${t.overheadMs} ms: ${t.gap} ${t.gapMs} ms${t.gcInGapMs > 0 ? ` [GC ${t.gcKinds}]` : ''}`)
      .join('; ');
    out.push(`   ${c.vad} × ${c.sessions}: GC ${kinds || 'none'}. Slowest turns: ${slow || '–'}.`);
  }

  const v = r.vad;
  out.push('\n4. Silero VAD v5 — cost per 512-sample (32 ms) frame, µs');
  out.push(
    table(
      ['', 'p50', 'p99'],
      [
        ['one stream per run', v.singleUsPerFrame.p50, v.singleUsPerFrame.p99],
        [`${v.batchSize} streams batched per run`, v.batchedUsPerFrame.p50, v.batchedUsPerFrame.p99],
      ],
    ),
  );
  const st = r.store;
  out.push(
    `\n5. Session store (SQLite) — write cost per turn; ${st.turns} text turns with a tool call, ${st.writesPerTurn} writes per turn`,
  );
  out.push(
    table(
      ['', 'p50', 'p99', 'max', 'n', ''],
      [
        row('turn time without a store, ms', st.turnMsWithout),
        row('turn time with the store, ms', st.turnMsWith),
        row('recorder on the turn path, µs per turn', st.recorderUsPerTurn),
        ['database time off the turn path, µs per turn', st.dbUsPerTurn, '', '', '', ''],
        row(
          `resume snapshot on the turn path, µs per turn (history up to ${st.snapshot.historyMessages} messages)`,
          st.snapshot.onPathUsPerTurn,
        ),
        row(
          `resume snapshot written, µs (off the path; ${st.snapshot.historyMessages} messages)`,
          st.snapshot.dbUs,
        ),
        row('  floor: one transcript row written, µs', st.snapshot.floorRowUs),
      ],
    ),
  );
  for (const n of r.notes) out.push(`Note: ${n}`);
  out.push(`\nTotal bench time: ${r.durationS} s; load(1m) at the end ${m.loadavg1mEnd}`);
  console.log(out.join('\n'));
}
