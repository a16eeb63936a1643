/**
 * Error and notice banners above the conversation. Each problem is shown once: a banner whose key
 * is already on screen (the `pipeline-error` and the `error` message that follows it carry the same
 * error text) is not repeated. Banners close with their button (keyboard reachable).
 */
import { el } from './dom.ts';

export type BannerKind = 'error' | 'notice';

export class Banners {
  private readonly shown = new Map<string, HTMLElement>();

  constructor(private readonly container: HTMLElement) {}

  /** Shows `message` unless a banner with the same `key` (default: the message) is open. */
  show(kind: BannerKind, message: string, key = message): void {
    if (this.shown.has(key)) return;
    const node = el('div', `banner ${kind}`);
    node.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const text = el('p', '', message);
    const close = el('button', '', 'Dismiss');
    close.type = 'button';
    close.setAttribute('aria-label', `Dismiss: ${message}`);
    close.addEventListener('click', () => {
      node.remove();
      this.shown.delete(key);
    });
    node.append(text, close);
    this.container.append(node);
    this.shown.set(key, node);
  }

  has(key: string): boolean {
    return this.shown.has(key);
  }

  clear(): void {
    for (const node of this.shown.values()) node.remove();
    this.shown.clear();
  }
}
