/** Small DOM helpers for the console page. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: missing #${id}`);
  return el as T;
}

/** Creates an element with a class and text (text is never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = '',
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** Keeps a scrolled list pinned to the bottom when it was at the bottom. */
export function appendScrolled(list: HTMLElement, child: HTMLElement): void {
  const pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  list.appendChild(child);
  if (pinned) list.scrollTop = list.scrollHeight;
}

/** Compact one-line JSON, cut at `max` characters. */
export function compact(value: unknown, max = 160): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? '';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Drops the empty-state paragraph of a container the first time something is added. */
export function clearEmpty(container: HTMLElement): void {
  container.querySelector(':scope > .empty')?.remove();
}
