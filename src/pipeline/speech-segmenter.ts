/**
 * Splits streamed LLM text into chunks worth sending to TTS one by one.
 *
 * A chunk ends at a sentence end (`.`, `!`, `?`, `…`, runs of them, closing quotes/brackets after
 * them, or a newline). A terminator only counts once the next character is known to be whitespace,
 * which keeps decimals ("3.14"), numbers ("1.000.000"), URLs and versions whole; a `.` after a known
 * abbreviation ("Dr.", "e.g.", "vs.") or a single capital initial ("J.") never ends a sentence.
 * Sentences shorter than `minChunkSize` are merged with the next ones; a run of text without a
 * sentence end is force-split before `maxChunkSize` at the last clause boundary (`,` `;` `:` or a
 * dash) or else the last word boundary, never inside a word.
 */

export interface SpeechSegmenterOptions {
  /**
   * Shortest chunk in characters (default 50, about one short sentence / 3 s of speech at most):
   * shorter sentences are merged so TTS gets enough context for natural prosody.
   */
  minChunkSize?: number;
  /**
   * Longest chunk in characters (default 200, about 12 s of speech): longer runs are split at a
   * clause or word boundary so TTS can start early and an interruption wastes little.
   */
  maxChunkSize?: number;
  /**
   * Emit the first complete sentence at once even when shorter than `minChunkSize`, so the
   * first audio starts sooner (default true).
   */
  fastFirstChunk?: boolean;
}

export const DEFAULT_MIN_CHUNK_SIZE = 50;
export const DEFAULT_MAX_CHUNK_SIZE = 200;

/** Words whose trailing `.` is an abbreviation, not a sentence end (lower case, without the final dot). */
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'mt',
  'vs',
  'etc',
  'e.g',
  'i.e',
  'eg',
  'ie',
  'cf',
  'approx',
  'no',
  'nos',
  'vol',
  'fig',
  'inc',
  'ltd',
  'co',
  'corp',
  'dept',
  'est',
  'a.m',
  'p.m',
  'u.s',
  'u.k',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'min',
  'max',
  'ca',
]);

const CLOSERS = new Set(['"', "'", ')', ']', '}', '\u201d', '\u2019', '\u00bb']);
const WORD_CHAR = /[\p{L}\p{N}]/u;

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\u00a0';
}

function isTerminator(ch: string): boolean {
  return ch === '.' || ch === '!' || ch === '?' || ch === '\u2026';
}

export class SpeechSegmenter {
  readonly minChunkSize: number;
  readonly maxChunkSize: number;
  readonly fastFirstChunk: boolean;
  private buffer = '';
  /** Index in `buffer` from which the next sentence-end search starts. */
  private scanPos = 0;
  private emittedAny = false;

  constructor(options: SpeechSegmenterOptions = {}) {
    this.minChunkSize = Math.max(1, options.minChunkSize ?? DEFAULT_MIN_CHUNK_SIZE);
    this.maxChunkSize = Math.max(this.minChunkSize + 1, options.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE);
    this.fastFirstChunk = options.fastFirstChunk ?? true;
  }

  /** Adds streamed text; returns the chunks completed by it (often none). */
  push(delta: string): string[] {
    if (delta.length === 0) return [];
    this.buffer += delta;
    const out: string[] = [];
    this.drain(out, false);
    return out;
  }

  /** Ends the text: returns the remaining chunks (the last one may be short) and resets. */
  flush(): string[] {
    const out: string[] = [];
    this.drain(out, true);
    const rest = this.buffer.trim();
    if (rest.length > 0 && WORD_CHAR.test(rest)) out.push(rest);
    this.buffer = '';
    this.scanPos = 0;
    this.emittedAny = false;
    return out;
  }

  private drain(out: string[], final: boolean): void {
    for (;;) {
      const end = this.nextSentenceEnd(final);
      if (end < 0) break;
      const candidate = this.buffer.slice(0, end).trim();
      const fast = !this.emittedAny && this.fastFirstChunk && WORD_CHAR.test(candidate);
      if (candidate.length > this.maxChunkSize) {
        // A long sentence: split it before its end; its remainder is scanned again.
        this.forceSplit(out);
      } else if (fast || candidate.length >= this.minChunkSize) {
        this.emit(out, end);
      } else {
        this.scanPos = end;
      }
    }
    while (this.buffer.trim().length > this.maxChunkSize) this.forceSplit(out);
  }

  private emit(out: string[], end: number): void {
    const chunk = this.buffer.slice(0, end).trim();
    this.buffer = this.buffer.slice(end);
    this.scanPos = 0;
    if (chunk.length > 0 && WORD_CHAR.test(chunk)) {
      out.push(chunk);
      this.emittedAny = true;
    }
  }

  /**
   * Splits within `maxChunkSize` (and not below `minChunkSize`) at the best boundary. A cut at `i`
   * (a space right after a word) makes a chunk of `i - lead` characters: `floor` itself is allowed,
   * a chunk of exactly `minChunkSize` as for a sentence. A space after another space is not a cut
   * point: the chunk is trimmed, so it would be shorter than its `i - lead`.
   */
  private forceSplit(out: string[]): void {
    const b = this.buffer;
    const lead = b.length - b.trimStart().length;
    const limit = Math.min(b.length - 1, lead + this.maxChunkSize);
    const floor = lead + this.minChunkSize;
    let clause = -1;
    let word = -1;
    for (let i = limit; i >= floor; i--) {
      const ch = b[i]!;
      if (!isSpace(ch)) continue;
      const prev = b[i - 1]!;
      if (isSpace(prev)) continue;
      if (word < 0) word = i;
      if (
        prev === ',' ||
        prev === ';' ||
        prev === ':' ||
        prev === '\u2014' ||
        prev === '\u2013' ||
        prev === '-'
      ) {
        if (clause < 0) clause = i;
        break;
      }
      if (isTerminator(prev) && clause < 0) {
        clause = i;
        break;
      }
    }
    const cut = clause > 0 ? clause : word > 0 ? word : limit;
    this.emit(out, cut);
  }

  /**
   * Index just past the next sentence end at or after `scanPos` (terminators plus closers), or -1
   * when there is none yet. With `final`, the end of the buffer counts as whitespace.
   */
  private nextSentenceEnd(final: boolean): number {
    const b = this.buffer;
    let i = this.scanPos;
    while (i < b.length) {
      const ch = b[i]!;
      if (ch === '\n') return i + 1;
      if (!isTerminator(ch)) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < b.length && (isTerminator(b[j]!) || CLOSERS.has(b[j]!))) j++;
      if (j >= b.length) {
        if (!final) {
          this.scanPos = i; // wait for the next character
          return -1;
        }
        return j;
      }
      if (isSpace(b[j]!) && !(ch === '.' && j === i + 1 && this.isAbbreviation(i))) return j;
      i = j;
    }
    this.scanPos = i;
    return -1;
  }

  /** True when the `.` at `dot` ends an abbreviation or an initial. */
  private isAbbreviation(dot: number): boolean {
    const b = this.buffer;
    let start = dot;
    while (start > 0 && !isSpace(b[start - 1]!)) start--;
    let word = b.slice(start, dot);
    word = word.replace(/^[("'\u201c\u2018[]+/, '');
    if (word.length === 0) return false;
    if (word.length === 1 && /\p{Lu}/u.test(word)) return true;
    return ABBREVIATIONS.has(word.toLowerCase());
  }
}
