/**
 * Operator routes (they need `COLLOQUY_AUTH_TOKEN` and a matching `Authorization: Bearer` header;
 * without a configured token they answer 403):
 *
 *   POST /admin/drain     take this node out of the pool; live sessions may finish within the drain
 *                         timeout, then end with `conversation-end` and a resume handle (202)
 *   GET  /admin/cluster   this node and, with COLLOQUY_REDIS_URL, every live node of the cluster
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { ServerContext } from './app.ts';

export function registerAdminRoutes(app: Hono, ctx: ServerContext): void {
  const needsToken: MiddlewareHandler = async (c, next) => {
    if (!ctx.config.authToken) {
      return c.json({ info: 'The admin routes need COLLOQUY_AUTH_TOKEN set on the server' }, 403);
    }
    await next();
  };

  app.post('/admin/drain', needsToken, ctx.auth, (c) => {
    if (!ctx.drain) return c.json({ info: 'This server cannot drain' }, 501);
    const sessions = ctx.registry.activeCount;
    void ctx.drain().catch((err: unknown) => ctx.logger.error('drain failed', err));
    return c.json({ status: 'draining', sessions }, 202);
  });

  app.get('/admin/cluster', needsToken, ctx.auth, async (c) => {
    const cluster = ctx.cluster;
    const self = {
      sessions: ctx.registry.activeCount,
      capacity: ctx.config.limits.maxSessions,
      draining: ctx.isDraining?.() ?? false,
    };
    if (!cluster) return c.json({ node: self, nodes: [] });
    const node = cluster.node;
    const nodes = node.online ? await node.nodes().catch(() => []) : [];
    return c.json({
      node: { id: node.id, url: node.url, online: node.online, ...self, stats: node.stats },
      nodes,
    });
  });
}
