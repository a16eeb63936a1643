/**
 * Fuzz (fast-check, seeded) of the native WebSocket protocol over real sockets on loopback: hostile
 * `resume` messages as the first message of new sockets, and hostile `subagent_ui_response` answers
 * on a live one. Each gets a typed `error` (a stable `code`), a refused resume closes only its own
 * socket, and the conversations on the server go on: the owner's handle still resumes its session,
 * and the answered socket still gets its turn.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { AgentResume } from '../../src/surfaces/voice-agent/agent-resume.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { type MessageLog, openClient, startServer, until } from '../voice-agent/helpers.ts';

const SEED = 20261130;
const CODE = /^[a-z][a-z_]*$/;

const hostileHandle = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ minLength: 43, maxLength: 43 }),
  fc.stringMatching(/^[\w-]{43}$/),
  fc.string({ minLength: 2000, maxLength: 5000 }),
  fc.integer(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 4 }),
);

describe('fuzz: native protocol resume and subagent answers over a real socket', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let resume: AgentResume;
  const agents: VoiceAgent[] = [];
  const open: MessageLog[] = [];
  const connect = async (user = 'owner') => {
    const log = await openClient(`${server.url}/?user=${user}`);
    open.push(log);
    return log;
  };

  beforeAll(async () => {
    resume = new AgentResume({ windowMs: 60_000 });
    server = await startServer((socket, request) => {
      const user = new URL(request.url ?? '/', 'http://x').searchParams.get('user') ?? 'owner';
      resume.accept(
        socket,
        () => {
          const agent = new VoiceAgent({
            model: mockLanguageModel([(call) => `Heard ${JSON.stringify(call.prompt).length} characters`]),
            logger: silentLogger,
            userId: user,
          });
          agents.push(agent);
          return agent;
        },
        { userId: user },
      );
    });
  });
  afterAll(async () => {
    for (const log of open) log.socket.terminate();
    resume?.close();
    await server?.close();
  });

  it('hostile resume messages are refused with typed errors; the owner still resumes its session', async () => {
    const owner = await connect();
    owner.send({ type: 'transcript', text: 'My room is 214' });
    const { handle } = (await owner.waitFor('resume_handle')) as unknown as { handle: string };
    await owner.waitFor('response_complete');
    owner.socket.terminate();
    await until(() => !agents[0]!.connected);

    const cases = fc.sample(
      fc.tuple(
        hostileHandle,
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        fc.constantFrom('owner', 'mallory'),
      ),
      { seed: SEED, numRuns: 150 },
    );
    const heapBefore = process.memoryUsage().heapUsed;
    for (const [h, extra, user] of cases) {
      const log = await connect(user);
      const closed = new Promise<number>((resolve) => log.socket.once('close', (code) => resolve(code)));
      log.send({ ...extra, type: 'resume', handle: h });
      const error = (await log.waitFor('error', () => true, 10_000)) as unknown as {
        code: string;
        messageType?: string;
      };
      expect(error.code, JSON.stringify(h)?.slice(0, 80)).toMatch(CODE);
      if (error.code.startsWith('resume_')) {
        // A well-formed handle that is not the owner's: refused, and that socket only is closed.
        expect(error.code).toMatch(/^resume_(unknown|used|foreign|expired)$/);
        expect(typeof h).toBe('string');
        expect(await closed).toBe(1008);
      } else {
        // Not a well-formed resume (no string handle, or too long): a bad message; the socket goes on.
        expect(error.code).toBe('invalid_field');
        expect(log.socket.readyState).toBe(log.socket.OPEN);
        log.socket.terminate();
      }
    }
    expect(agents[0]!.connected).toBe(false);
    // The real handle still works, and the conversation goes on where it was.
    const back = await connect();
    back.send({ type: 'resume', handle });
    await back.waitFor('session_resumed', () => true, 10_000);
    back.send({ type: 'transcript', text: 'Which room did I say?' });
    await back.waitFor('response_complete', () => true, 10_000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);

  it('hostile subagent answers get typed errors on the same socket; the session goes on', async () => {
    const log = await connect('answerer');
    const answers = fc.sample(
      fc.oneof(
        fc.record({
          request_id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant('req_1')),
          answer: fc.jsonValue({ maxDepth: 4 }),
          cancelled: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 })),
        }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      ),
      { seed: SEED + 1, numRuns: 300 },
    );
    for (let batch = 0; batch < answers.length; batch += 50) {
      const before = log.of('error').length;
      const slice = answers.slice(batch, batch + 50);
      for (const answer of slice) log.send({ ...answer, type: 'subagent_ui_response' });
      await until(() => log.of('error').length >= before + slice.length, 20_000);
      for (const error of log.of('error').slice(before)) {
        expect((error as unknown as { code: string }).code).toMatch(CODE);
        expect((error as unknown as { messageType?: string }).messageType).toBe('subagent_ui_response');
      }
      // The conversation goes on between batches.
      const done = log.of('response_complete').length;
      log.send({ type: 'transcript', text: `Batch ${batch}` });
      await until(() => log.of('response_complete').length > done, 20_000);
    }
    expect(log.socket.readyState).toBe(log.socket.OPEN);
  }, 120_000);
});
