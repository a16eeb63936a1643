/**
 * The event timeline: every RTVI message in both directions, one compact line each (time since
 * connect, direction, type, data), filterable by text, chatty types hidden on demand. Bounded: the
 * oldest entries are dropped past `limit`.
 */
import { appendScrolled, compact, el } from './dom.ts';

/** High-rate messages hidden by the "hide text chunks and levels" switch. */
const CHATTY = new Set(['bot-tts-text', 'bot-llm-text', 'bot-output', 'user-audio-level', 'bot-audio-level']);

export type Direction = 'in' | 'out';

export class Timeline {
  private startedAt = performance.now();
  private count = 0;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly filter: HTMLInputElement,
    private readonly hideChatty: HTMLInputElement,
    private readonly limit = 500,
  ) {
    const refresh = () => {
      for (const item of Array.from(list.children)) this.applyFilter(item as HTMLElement);
    };
    filter.addEventListener('input', refresh);
    hideChatty.addEventListener('change', refresh);
  }

  /** Restarts the clock (a new connection). The old entries stay, under a separator. */
  restart(label: string): void {
    this.startedAt = performance.now();
    this.push('in', '—', label, { separator: true });
  }

  add(direction: Direction, type: string, data: unknown): void {
    const summary = data === undefined ? '' : compact(data, 400);
    this.push(direction, type, summary, { error: type === 'error' || type === 'error-response' });
  }

  private push(
    direction: Direction,
    type: string,
    summary: string,
    flags: { error?: boolean; separator?: boolean },
  ): void {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const item = el('li', `${direction}${flags.error ? ' error' : ''}${flags.separator ? ' separator' : ''}`);
    item.dataset.type = type;
    item.append(
      el('time', '', flags.separator ? '' : `+${seconds.toFixed(3)}`),
      el('span', 'dir', flags.separator ? '' : direction === 'in' ? '↓' : '↑'),
    );
    const body = el('span', 'data');
    body.append(el('span', 'type', type), document.createTextNode(summary));
    body.title = summary;
    item.append(body);
    item.setAttribute('aria-label', `${direction === 'in' ? 'received' : 'sent'} ${type}`);
    this.applyFilter(item);
    appendScrolled(this.list, item);
    if (++this.count > this.limit) {
      this.list.firstElementChild?.remove();
      this.count--;
    }
  }

  private applyFilter(item: HTMLElement): void {
    const type = item.dataset.type ?? '';
    const needle = this.filter.value.trim().toLowerCase();
    const chatty = this.hideChatty.checked && CHATTY.has(type);
    const miss = needle !== '' && !(item.textContent ?? '').toLowerCase().includes(needle);
    item.hidden = chatty || miss;
  }
}
