/**
 * The conversation view: user lines (spoken, with the interim text updated in place until the final
 * transcript, or typed), bot lines (the spoken sentences of one reply), tool calls, client events
 * and interruption marks. A bot line ends when the user says or types something, when a new LLM
 * reply starts, or when the bot is interrupted, so the rest of an interrupted reply is never glued
 * onto the next one.
 */
import { appendScrolled, clearEmpty, compact, el } from './dom.ts';

export class TranscriptView {
  private interim: HTMLElement | undefined;
  private bot: HTMLElement | undefined;
  /** The most recent bot line, open or closed (what an interruption marks). */
  private lastBot: HTMLElement | undefined;

  constructor(private readonly log: HTMLElement) {}

  private add(kind: string, who: string, text: string): HTMLElement {
    clearEmpty(this.log);
    const line = el('div', `line ${kind}`);
    if (who) line.append(el('span', 'who', `${who}: `));
    line.append(el('span', 'text', text));
    appendScrolled(this.log, line);
    return line;
  }

  /** A `final: false` transcript: shown in place until the final one. */
  userInterim(text: string): void {
    this.endBotLine();
    if (!this.interim) this.interim = this.add('user interim', 'You', text);
    else this.setText(this.interim, text);
  }

  userFinal(text: string): void {
    this.endBotLine();
    if (this.interim) {
      this.interim.className = 'line user';
      this.setText(this.interim, text);
      this.interim = undefined;
    } else {
      this.add('user', 'You', text);
    }
  }

  userTyped(text: string): void {
    this.endBotLine();
    this.interim?.remove();
    this.interim = undefined;
    this.add('user typed', 'You (typed)', text);
  }

  /** A new LLM reply starts: the next bot text opens a new line. */
  botReplyStarted(): void {
    this.endBotLine();
    this.lastBot = undefined;
  }

  /** A spoken sentence (or the whole unspoken reply) of the bot. */
  botText(text: string): void {
    if (!text) return;
    if (!this.bot) {
      this.bot = this.add('bot', 'Bot', text);
      this.lastBot = this.bot;
      return;
    }
    const span = this.bot.querySelector('.text');
    if (span) span.textContent = `${span.textContent} ${text}`.trim();
  }

  /** The bot was cut off: mark the line being spoken and close it. */
  botInterrupted(): void {
    const line = this.lastBot;
    if (line && !line.classList.contains('interrupted')) {
      line.classList.add('interrupted');
      line.append(el('span', 'mark', 'interrupted'));
    }
    this.endBotLine();
  }

  toolCall(name: string, args: unknown): void {
    this.add('tool', 'Tool', `${name}(${compact(args ?? {}, 200)})`);
  }

  clientEvent(topic: string, data: unknown): void {
    this.add('event', 'Client event', `${topic} ${compact(data, 200)}`);
  }

  note(text: string): void {
    this.endBotLine();
    this.add('meta', '', text);
  }

  private endBotLine(): void {
    this.bot = undefined;
  }

  private setText(line: HTMLElement, text: string): void {
    const span = line.querySelector('.text');
    if (span) span.textContent = text;
  }
}
