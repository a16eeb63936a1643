/**
 * The per-turn latency waterfall. Each turn's summary `metrics` message carries the server's
 * segments in ms (`stt_latency_ms`, `llm_ttfb_ms`, `tts_ttfb_ms`, `total_latency_ms`); tool time is
 * measured here, from each call's `llm-function-call-in-progress` to its `llm-function-call-stopped`.
 * The bars follow the pipeline in order (STT, then LLM to first token, tools, TTS to first audio)
 * on the scale of the turn's total; the total bar is end of user speech to first bot audio.
 */
import { appendScrolled, clearEmpty, el } from './dom.ts';

/** The latency fields of a turn summary `metrics` message. */
export interface TurnMetrics {
  stt_latency_ms?: number;
  llm_ttfb_ms?: number;
  tts_ttfb_ms?: number;
  total_latency_ms?: number;
}

interface Segment {
  name: 'STT' | 'LLM' | 'Tools' | 'TTS' | 'Total';
  ms: number;
  startMs: number;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;

export class LatencyWaterfall {
  private turn = 0;
  private readonly calls = new Map<string, number>();
  private toolMs = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly limit = 50,
  ) {}

  toolStarted(id: string): void {
    if (this.calls.size < 64) this.calls.set(id, performance.now());
  }

  toolStopped(id: string): void {
    const started = this.calls.get(id);
    if (started === undefined) return;
    this.calls.delete(id);
    this.toolMs += performance.now() - started;
  }

  /** Draws a row when `data` is a turn summary (it has a total or an STT/LLM/TTS segment). */
  onMetrics(data: Record<string, unknown>): void {
    const m: TurnMetrics = {
      stt_latency_ms: num(data.stt_latency_ms),
      llm_ttfb_ms: num(data.llm_ttfb_ms),
      tts_ttfb_ms: num(data.tts_ttfb_ms),
      total_latency_ms: num(data.total_latency_ms),
    };
    if (m.total_latency_ms === undefined && m.llm_ttfb_ms === undefined && m.stt_latency_ms === undefined)
      return;
    const tools = this.toolMs;
    this.toolMs = 0;
    this.calls.clear();
    this.draw(++this.turn, m, tools);
  }

  private draw(turn: number, m: TurnMetrics, toolMs: number): void {
    const segments: Segment[] = [];
    let at = 0;
    const push = (name: Segment['name'], ms: number | undefined) => {
      if (ms === undefined) return;
      segments.push({ name, ms, startMs: at });
      at += ms;
    };
    push('STT', m.stt_latency_ms);
    push('LLM', m.llm_ttfb_ms);
    if (toolMs > 0) push('Tools', toolMs);
    push('TTS', m.tts_ttfb_ms);
    const total = m.total_latency_ms;
    if (total !== undefined) segments.push({ name: 'Total', ms: total, startMs: 0 });
    const scale = Math.max(total ?? 0, at, 1);

    clearEmpty(this.container);
    const row = el('div', 'turn-row');
    row.append(
      el('h3', '', `Turn ${turn}${total !== undefined ? ` · ${Math.round(total)} ms to first audio` : ''}`),
    );
    for (const s of segments) {
      const line = el('div', `seg ${s.name.toLowerCase()}`);
      const track = el('span', 'track');
      const bar = el('span', 'bar');
      bar.style.left = `${(s.startMs / scale) * 100}%`;
      bar.style.width = `${(s.ms / scale) * 100}%`;
      track.append(bar);
      line.append(el('span', 'name', s.name), track, el('span', 'ms', `${Math.round(s.ms)} ms`));
      row.append(line);
    }
    appendScrolled(this.container, row);
    while (this.container.children.length > this.limit) this.container.firstElementChild?.remove();
  }
}
