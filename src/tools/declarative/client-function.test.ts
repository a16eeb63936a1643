import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { buildDeclarativeTools, parseDeclarativeTools } from './build.ts';

const defs = parseDeclarativeTools([
  {
    name: 'pick_color',
    kind: 'client_function',
    description: 'Ask the app which color the user picked',
    input_schema: { type: 'object', properties: { hint: { type: 'string' } } },
  },
]);
const opts = { toolCallId: 'call-1', messages: [], abortSignal: new AbortController().signal };

describe('client_function tools', () => {
  it('run through the context callClient with the call id, name and arguments', async () => {
    const seen: unknown[] = [];
    const tools = buildDeclarativeTools(defs, {
      bus: new EventBus<EventMap>({ logger: silentLogger }),
      sessionId: 's',
      callClient: async (call) => {
        seen.push(call);
        return { color: 'teal' };
      },
    });
    await expect(tools.pick_color.execute?.({ hint: 'x' }, opts)).resolves.toEqual({ color: 'teal' });
    expect(seen).toEqual([{ toolCallId: 'call-1', name: 'pick_color', args: { hint: 'x' } }]);
  });

  it('fail with a typed error when no client can run them', async () => {
    const tools = buildDeclarativeTools(defs, {
      bus: new EventBus<EventMap>({ logger: silentLogger }),
      sessionId: 's',
    });
    await expect(Promise.resolve().then(() => tools.pick_color.execute?.({}, opts))).rejects.toMatchObject({
      code: 'client_functions_unavailable',
    });
  });

  it('reject unknown config keys', () => {
    expect(() =>
      parseDeclarativeTools([{ name: 'x', kind: 'client_function', description: 'd', config: { url: 'u' } }]),
    ).toThrow(/tool #0 "x"/);
  });
});
