/** The tools a realtime model is told about: name, description when there is one, JSON schema. */
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { declareTools } from './realtime-tools.ts';

describe('declareTools', () => {
  it('declares each tool with its description (when it has one) and its input schema', async () => {
    const declared = await declareTools({
      lookup: tool({
        description: 'Looks up opening hours',
        inputSchema: z.object({ day: z.string() }),
        execute: async () => 'nine',
      }),
      ping: tool({ inputSchema: z.object({}), execute: async () => 'pong' }),
    });
    expect(declared).toEqual([
      {
        name: 'lookup',
        description: 'Looks up opening hours',
        parameters: expect.objectContaining({ type: 'object', properties: { day: { type: 'string' } } }),
      },
      { name: 'ping', parameters: expect.objectContaining({ type: 'object' }) },
    ]);
    expect(declared[0]?.parameters).not.toHaveProperty('$schema');
  });
});
