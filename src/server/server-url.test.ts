/**
 * The `url` a started server reports (printed at start, used by its tests): a server bound to every
 * address is reached at `localhost`; one bound to an address, at that address.
 */
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';

describe('RunningServer.url', () => {
  it.each([
    ['0.0.0.0', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
  ])('bound to %s: http://%s:<port>, and it answers there', async (host, shown) => {
    const server = await startTestServer({ env: { HOST: host } });
    try {
      expect(server.url).toBe(`http://${shown}:${server.port}`);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
