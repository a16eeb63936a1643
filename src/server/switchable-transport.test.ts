/**
 * `SwitchableTransport`: the one transport an RTVI session talks to while its client's wire is
 * swapped on reconnect. What goes out reaches the attached wire only (nowhere while none is); only
 * the attached wire's messages, audio and close reach the session; attaching closes the wire before
 * it without reporting that close. Stand-in wires that record what they get.
 */
import { describe, expect, it } from 'vitest';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { RtviTransport, RtviTransportCloseReason } from './rtvi-transport.ts';
import { SwitchableTransport } from './switchable-transport.ts';

interface Wire extends RtviTransport {
  sent: unknown[];
  closes: number;
  /** What the wire's peer does. */
  message(raw: unknown): void;
  audio(frame: Int16Array, rate: number): void;
  drop(reason: RtviTransportCloseReason): void;
}

function wire(name: string): Wire {
  let onMessage: (raw: unknown) => void = () => {};
  let onAudio: (frame: Int16Array, rate: number) => void = () => {};
  let onClose: (reason: RtviTransportCloseReason) => void = () => {};
  const w: Wire = {
    specificationVersion: SPECIFICATION_VERSIONS.transport,
    name,
    sent: [],
    closes: 0,
    sendMessage: (m) => w.sent.push(['message', m]),
    sendAudio: (frame, rate) => w.sent.push(['audio', frame.length, rate]),
    clearAudio: () => w.sent.push(['clear']),
    onMessage: (h) => {
      onMessage = h;
    },
    onAudio: (h) => {
      onAudio = h;
    },
    onClose: (h) => {
      onClose = h;
    },
    close: () => {
      w.closes++;
    },
    message: (raw) => onMessage(raw),
    audio: (frame, rate) => onAudio(frame, rate),
    drop: (reason) => onClose(reason),
  };
  return w;
}

/** A switchable transport over `first`, recording what reaches the session. */
function switchable(first: Wire) {
  const t = new SwitchableTransport(first);
  const heard: unknown[] = [];
  t.onMessage((raw) => heard.push(['message', raw]));
  t.onAudio((frame, rate) => heard.push(['audio', frame.length, rate]));
  t.onClose((reason) => heard.push(['close', reason]));
  return { t, heard };
}

describe('SwitchableTransport', () => {
  it('speaks the transport contract under the first wire’s name', () => {
    const { t } = switchable(wire('websocket'));
    expect(t.specificationVersion).toBe(SPECIFICATION_VERSIONS.transport);
    expect(t.name).toBe('websocket');
    expect(t.attached).toBe(true);
  });

  it('messages, audio and clears go to the attached wire; the wire’s messages and audio reach the session', () => {
    const a = wire('websocket');
    const { t, heard } = switchable(a);
    t.sendMessage({ type: 'bot-ready' });
    t.sendAudio(new Int16Array(480), 24000);
    t.clearAudio();
    a.message('{"type":"client-ready"}');
    a.audio(new Int16Array(320), 16000);
    expect(a.sent).toEqual([['message', { type: 'bot-ready' }], ['audio', 480, 24000], ['clear']]);
    expect(heard).toEqual([
      ['message', '{"type":"client-ready"}'],
      ['audio', 320, 16000],
    ]);
  });

  it('the wire dropping: reported once with its reason; then what goes out goes nowhere, the name stays', () => {
    const a = wire('websocket');
    const { t, heard } = switchable(a);
    a.drop('client_disconnected');
    expect(heard).toEqual([['close', 'client_disconnected']]);
    expect(t.attached).toBe(false);
    expect(t.name).toBe('websocket');
    t.sendMessage({ type: 'lost' });
    t.sendAudio(new Int16Array(10), 24000);
    t.clearAudio();
    t.close();
    expect(a.sent).toEqual([]);
    expect(a.closes).toBe(0);
  });

  it('attaching a new wire: the old one is closed, its close and late events ignored; the new one carries everything', () => {
    const a = wire('websocket');
    const b = wire('small-webrtc');
    const { t, heard } = switchable(a);
    t.attach(b);
    expect(a.closes).toBe(1);
    expect(b.closes).toBe(0);
    expect(t.name).toBe('small-webrtc');
    expect(t.attached).toBe(true);
    a.drop('error');
    a.message('late');
    a.audio(new Int16Array(5), 16000);
    b.message('hello');
    b.audio(new Int16Array(7), 16000);
    t.sendMessage({ n: 1 });
    expect(heard).toEqual([
      ['message', 'hello'],
      ['audio', 7, 16000],
    ]);
    expect(a.sent).toEqual([]);
    expect(b.sent).toEqual([['message', { n: 1 }]]);
    b.drop('error');
    expect(heard.at(-1)).toEqual(['close', 'error']);
    expect(t.attached).toBe(false);
    expect(t.name).toBe('small-webrtc');
  });

  it('attaching after the wire dropped: nothing to close; the new wire carries on', () => {
    const a = wire('websocket');
    const b = wire('websocket');
    const { t, heard } = switchable(a);
    a.drop('client_disconnected');
    t.attach(b);
    expect(a.closes).toBe(0);
    t.clearAudio();
    expect(b.sent).toEqual([['clear']]);
    b.drop('client_disconnected');
    expect(heard).toEqual([
      ['close', 'client_disconnected'],
      ['close', 'client_disconnected'],
    ]);
  });

  it('close(): the attached wire is closed and detached; its close is not reported', () => {
    const a = wire('websocket');
    const { t, heard } = switchable(a);
    t.close();
    expect(a.closes).toBe(1);
    expect(t.attached).toBe(false);
    a.drop('client_disconnected');
    a.message('after close');
    expect(heard).toEqual([]);
    t.close();
    expect(a.closes).toBe(1);
  });

  it('before the session subscribes, the wire’s events go nowhere (no throw)', () => {
    const a = wire('websocket');
    const t = new SwitchableTransport(a);
    expect(() => {
      a.message('early');
      a.audio(new Int16Array(1), 16000);
      a.drop('error');
    }).not.toThrow();
    expect(t.attached).toBe(false);
  });
});
