/**
 * Test page built the way LiveKit's React starter apps are: `@livekit/components-react`'s
 * `useSession(TokenSource.endpoint(url))` inside a `SessionProvider`, `useVoiceAssistant` for the
 * agent's state, `useSessionMessages` for the transcript and chat, `RoomAudioRenderer` to play the
 * agent. No Colloquy code on the page: what the hooks report is recorded into `window.__rx`.
 * Written with `createElement` (no JSX) so the page needs no JSX compiler settings.
 */
import {
  RoomAudioRenderer,
  SessionProvider,
  type UseSessionReturn,
  useSession,
  useSessionMessages,
  useVoiceAssistant,
} from '@livekit/components-react';
import { TokenSource } from 'livekit-client';
import { Fragment, createElement as h, useEffect, useMemo, useRef } from 'react';
import { createRoot } from 'react-dom/client';

export interface RxMessage {
  type: string;
  identity: string | undefined;
  text: string;
}

export interface RxState {
  /** Every distinct `useVoiceAssistant().state`, in order. */
  states: string[];
  /** The agent `useVoiceAssistant()` found: identity and kind. */
  agent: { identity: string; isAgent: boolean } | undefined;
  /** `useSessionMessages().messages`, as last rendered. */
  messages: RxMessage[];
  connectionState: string;
  error: string | undefined;
  send(text: string): Promise<void>;
  end(): Promise<void>;
}

declare global {
  interface Window {
    __rx: RxState;
    __rxStart(endpoint: string): void;
  }
}

const rx: RxState = {
  states: [],
  agent: undefined,
  messages: [],
  connectionState: 'idle',
  error: undefined,
  send: async () => {
    throw new Error('not connected');
  },
  end: async () => {},
};
window.__rx = rx;

function Probe({ session }: { session: UseSessionReturn }) {
  const assistant = useVoiceAssistant();
  const { messages, send } = useSessionMessages(session);
  useEffect(() => {
    if (rx.states.at(-1) !== assistant.state) rx.states.push(assistant.state);
  }, [assistant.state]);
  useEffect(() => {
    const agent = assistant.agent;
    rx.agent = agent ? { identity: agent.identity, isAgent: agent.isAgent } : undefined;
  }, [assistant.agent]);
  useEffect(() => {
    rx.messages = messages.map((m) => ({
      type: m.type ?? 'chatMessage',
      identity: m.from?.identity,
      text: m.message,
    }));
  }, [messages]);
  useEffect(() => {
    rx.send = async (text) => {
      await send(text);
    };
  }, [send]);
  return h('output', { id: 'state' }, assistant.state);
}

function App({ endpoint }: { endpoint: string }) {
  const source = useMemo(() => TokenSource.endpoint(endpoint), [endpoint]);
  const session = useSession(source);
  useEffect(() => {
    rx.connectionState = session.connectionState;
  }, [session.connectionState]);
  const started = useRef(false);
  useEffect(() => {
    rx.end = () => session.end();
    // Start once, as a starter app does when its call button is pressed.
    if (started.current) return;
    started.current = true;
    session.start({ tracks: { microphone: { enabled: true } } }).catch((err: unknown) => {
      rx.error = err instanceof Error ? err.message : String(err);
    });
  }, [session]);
  return h(SessionProvider, {
    session,
    // biome-ignore lint/correctness/noChildrenProp: SessionProviderProps types children as a required prop.
    children: h(Fragment, null, h(Probe, { session }), h(RoomAudioRenderer)),
  });
}

window.__rxStart = (endpoint) => {
  const root = document.createElement('div');
  document.body.append(root);
  createRoot(root).render(h(App, { endpoint }));
};
