/** "Try saying": the phrases the server's speech recogniser understands (grammar-based STT only). */
import { el } from './dom.ts';

export function showHints(box: HTMLElement, phrases: string[], pick: (phrase: string) => void): void {
  const list = box.querySelector('ul');
  if (!list || phrases.length === 0) return;
  list.replaceChildren(
    ...phrases.map((phrase) => {
      const item = el('li');
      const button = el('button', 'secondary', phrase);
      button.type = 'button';
      button.addEventListener('click', () => pick(phrase));
      item.append(button);
      return item;
    }),
  );
  box.hidden = false;
}
