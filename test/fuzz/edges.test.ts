/**
 * Property-based fuzzing of every edge that takes input from outside: RTVI messages, Pipecat
 * protobuf frames, native WebSocket messages, SDP offers, declarative tool definitions and tool
 * arguments. Thousands of cases per run, seeded (reproducible: a failure prints its seed and path),
 * asserting no crash, a typed error for refused input, and bounded memory.
 */
import wrtc from '@roamhq/wrtc';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ColloquyError } from '../../src/errors.ts';
import { checkJsonLimits, parseJsonWithLimits } from '../../src/json-limits.ts';
import { parseClientMessage as parseNative } from '../../src/surfaces/native-protocol/client-messages.ts';
import { parseClientMessage as parseRtvi, RtviProtocolError } from '../../src/surfaces/rtvi/messages.ts';
import { parseDeclarativeTools } from '../../src/tools/declarative/build.ts';
import { expandUrlTemplate, parseUrlTemplate } from '../../src/tools/declarative/url-template.ts';
import { closePeerConnection } from '../../src/transports/close-peer-connection.ts';
import { decodeFrame, encodeFrame } from '../../src/transports/pipecat-websocket/frames.ts';
import { assertSafeOfferSdp, SdpRefusedError } from '../../src/transports/small-webrtc/sdp-guard.ts';

const SEED = 20261129;
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

/** Fails the property unless `run` returns or throws a ColloquyError (typed refusal). */
function typedOrOk(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ColloquyError)) throw err;
  }
}

/** Deep nesting as text, `depth` levels of arrays or objects. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 7000 }), fc.boolean())
  .map(([depth, obj]) =>
    obj ? `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`,
  );

const RTVI_TYPES = [
  'client-ready',
  'send-text',
  'client-message',
  'llm-function-call-result',
  'disconnect-bot',
  'dtmf',
  'raw-audio',
  'append-to-context',
  'ui-event',
  'nope',
];

const rtviMessage = fc.record(
  {
    label: fc.oneof(fc.constant('rtvi-ai'), fc.string()),
    type: fc.constantFrom(...RTVI_TYPES),
    id: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant(null)),
    data: fc.jsonValue({ maxDepth: 6 }),
  },
  { requiredKeys: ['label', 'type'] },
);
/** Well-formed messages carrying a payload nested thousands of levels deep, as text. */
const deepMessage = fc
  .tuple(fc.boolean(), deepJson)
  .map(([call, deep]) =>
    call
      ? `{"label":"rtvi-ai","type":"llm-function-call-result","id":"deep-01","data":{"function_name":"f","tool_call_id":"t","arguments":{},"result":{"r":${deep}}}}`
      : `{"label":"rtvi-ai","type":"client-message","id":"deep-01","data":{"t":"x","d":${deep}}}`,
  );

const heapBefore = process.memoryUsage().heapUsed;

describe('fuzz: RTVI client messages', () => {
  it('any text or value gives a message or an RtviProtocolError, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          deepJson,
          deepMessage,
          rtviMessage.map((m) => JSON.stringify(m)),
          rtviMessage,
        ),
        (raw) => {
          const r = parseRtvi(raw);
          if (!r.ok) expect(r.error).toBeInstanceOf(RtviProtocolError);
          // What gets through is bounded (safe for recursive code downstream).
          else expect(checkJsonLimits(r.message, { maxDepth: 33 }).ok).toBe(true);
        },
      ),
      runs(3000),
    );
  });
});

describe('fuzz: Pipecat protobuf frames', () => {
  const valid = encodeFrame({ type: 'message', data: '{"label":"rtvi-ai","type":"client-ready"}' });
  it('random and mutated bytes decode to a frame or a typed error', () => {
    const mutated = fc
      .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
      .map((edits) => {
        const copy = Uint8Array.from(valid);
        for (const [at, byte] of edits) copy[at] = byte;
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated), (bytes) => {
        const r = decodeFrame(bytes, { maxBytes: 64 * 1024 });
        if (!r.ok) expect(r.error).toBeInstanceOf(ColloquyError);
      }),
      runs(5000),
    );
  });
});

describe('fuzz: native WebSocket messages', () => {
  const native = fc.record({
    type: fc.constantFrom(
      'transcript',
      'audio',
      'interrupt',
      'video_frame',
      'client_ready',
      'audio_config',
      'audio_commit',
      'x',
    ),
    text: fc.oneof(fc.string(), fc.integer()),
    data: fc.oneof(fc.base64String({ maxLength: 64 }), fc.string()),
    sampleRate: fc.oneof(fc.integer(), fc.constant(16000)),
    extra: fc.jsonValue({ maxDepth: 4 }),
  });
  it('any text parses or throws a typed protocol error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          deepJson,
          native.map((m) => JSON.stringify(m)),
        ),
        (raw) => {
          typedOrOk(() => parseNative(raw));
        },
      ),
      runs(4000),
    );
  });
});

describe('fuzz: JSON limits', () => {
  it('parse and check never throw and never exceed their bounds', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          deepJson,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = parseJsonWithLimits(text, { maxDepth: 16, maxBytes: 4096 });
          if (r.ok) expect(checkJsonLimits(r.value, { maxDepth: 16 }).ok).toBe(true);
        },
      ),
      runs(4000),
    );
  });
});

describe('fuzz: SDP offers', () => {
  let offer = '';
  beforeAll(async () => {
    const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    pc.addTransceiver('video', { direction: 'sendrecv' });
    const chat = pc.createDataChannel('chat');
    offer = (await pc.createOffer()).sdp ?? '';
    await closePeerConnection(pc, [chat]);
  });

  it('mutated offers are accepted only when every m-line is one the transport uses', () => {
    const token = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        'audio',
        'video',
        'application',
        'applicatiox',
        'message',
        'text',
        '9',
        '0',
        'UDP/TLS/RTP/SAVPF',
        'webrtc-datachannel',
      ),
    );
    const edit = fc.tuple(
      fc.nat(),
      fc.oneof(
        token.map((t) => ({ kind: 'media' as const, t })),
        fc.string({ maxLength: 40 }).map((t) => ({ kind: 'line' as const, t })),
        fc.constant({ kind: 'drop' as const, t: '' }),
      ),
    );
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 6 }), (edits) => {
        const lines = offer.split('\r\n');
        for (const [at, e] of edits) {
          const i = at % lines.length;
          if (e.kind === 'drop') lines.splice(i, 1);
          else if (e.kind === 'line') lines.splice(i, 0, e.t);
          else if (lines[i].startsWith('m=')) lines[i] = lines[i].replace(/^m=\S+/, `m=${e.t}`);
        }
        const sdp = lines.join('\r\n');
        try {
          assertSafeOfferSdp(sdp);
        } catch (err) {
          expect(err).toBeInstanceOf(SdpRefusedError);
          return;
        }
        for (const m of sdp.split(/\r?\n/).filter((l) => l.startsWith('m='))) {
          expect(m).toMatch(/^m=(audio|video|application) /);
        }
      }),
      runs(3000),
    );
  });
});

describe('fuzz: declarative tools', () => {
  it('any definition is accepted or refused with a ConfigError', () => {
    const def = fc.record({
      name: fc.oneof(fc.string({ maxLength: 70 }), fc.constant('tool_1')),
      kind: fc.constantFrom('http', 'client_event', 'kb', 'client_function', 'ftp'),
      description: fc.oneof(fc.string({ maxLength: 50 }), fc.constant('d')),
      config: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record({
          url: fc.oneof(fc.webUrl(), fc.string(), fc.constant('http://{{host}}/x')),
          topic: fc.string(),
        }),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.array(def, { maxLength: 3 }), fc.jsonValue({ maxDepth: 4 })), (raw) => {
        typedOrOk(() => parseDeclarativeTools(raw));
      }),
      runs(3000),
    );
  });

  it('tool arguments never move an http tool off its origin, out of its path or over a fixed parameter', () => {
    const template = parseUrlTemplate('https://api.example.com/v1/users/{{id}}/profile?key=fixed&q={{q}}');
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constantFrom('..', '.', '../..', '@evil.com', '//evil.com', '%2e%2e', '?key=x', '#'),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('id', 'q', 'key')), value, {
          maxKeys: 5,
        }),
        (args) => {
          let url: URL;
          try {
            url = expandUrlTemplate(template, args, true).url;
          } catch (err) {
            expect(err).toBeInstanceOf(ColloquyError);
            return;
          }
          expect(url.origin).toBe('https://api.example.com');
          expect(url.pathname).toMatch(/^\/v1\/users\/[^/]+\/profile$/);
          expect(url.searchParams.getAll('key')).toEqual(['fixed']);
        },
      ),
      runs(4000),
    );
  });
});

describe('fuzz: memory', () => {
  it('the whole run left the heap bounded', () => {
    global.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  });
});
