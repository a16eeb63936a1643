/**
 * `buildAgents` hands the deployment's `httpAllow` to the `http` tools it builds (top-level and an
 * agent's inline ones): a tool reaches an internal address only when the deployment allows it, and is
 * refused it otherwise. Against a real HTTP server on loopback.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ToolSet } from 'ai';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { buildAgents, ModelCache } from './session-factory.ts';

async function withStatusServer(run: (base: string) => Promise<void>): Promise<void> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'open' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** The tools of each agent built from a config file with a top-level and an inline `http` tool. */
function toolsOf(base: string, httpAllow: readonly string[] | undefined): ToolSet[] {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-http-allow-'));
  const tool = (name: string) => ({
    name,
    kind: 'http',
    description: 'Room status',
    config: { url: `${base}/status` },
  });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      tools: [tool('shared_status')],
      agents: [
        { name: 'main', instructions: 'x', tools: ['shared_status'] },
        { name: 'other', instructions: 'y', tools: [tool('inline_status')] },
      ],
    }),
  );
  const config = loadServerConfig({ COLLOQUY_CONFIG: join(dir, 'config.json'), COLLOQUY_VAD: 'energy' });
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const agents = buildAgents(resolveProfile(config), {
    bus,
    sessionId: 's1',
    cache: new ModelCache(config.baseDir),
    ...(httpAllow ? { httpAllow } : {}),
  });
  return agents.map((a) => a.tools ?? {});
}

const call = (tools: ToolSet, name: string) =>
  Promise.resolve().then(() => tools[name]!.execute!({} as never, { toolCallId: 'c1', messages: [] }));

describe('buildAgents: the deployment http allowlist reaches the http tools', () => {
  it('allowed: the top-level and the inline tool reach the loopback server', async () => {
    await withStatusServer(async (base) => {
      const [main, other] = toolsOf(base, ['127.0.0.1']);
      await expect(call(main!, 'shared_status')).resolves.toEqual({ status: 'open' });
      await expect(call(other!, 'inline_status')).resolves.toEqual({ status: 'open' });
    });
  });

  it('not allowed: both are refused the loopback address', async () => {
    await withStatusServer(async (base) => {
      const [main, other] = toolsOf(base, undefined);
      await expect(call(main!, 'shared_status')).rejects.toMatchObject({ code: 'http_forbidden_address' });
      await expect(call(other!, 'inline_status')).rejects.toMatchObject({ code: 'http_forbidden_address' });
    });
  });
});
