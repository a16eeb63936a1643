/**
 * The data API over the session store (personal data: it needs `COLLOQUY_AUTH_TOKEN` and a matching
 * `Authorization: Bearer` header; without a configured token these routes answer 403):
 *
 *   GET    /sessions?user_id=&from=&to=&limit=&cursor=   sessions, newest first, paged
 *   GET    /sessions/:id                                  one session: transcript, tool calls, summaries
 *   GET    /users/:userId/memory                          the user's long-term memory facts
 *   DELETE /users/:userId/memory[?fact=…]                 forget one fact, or all of them
 *   DELETE /users/:userId                                 delete the user's data: memory and transcripts
 *
 * `GET /sessions/:id/transcript` (app.ts) reads a closed session's conversation from the store too.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { StoreError } from '../store/store-error.ts';
import { zodIssueText } from '../zod-issues.ts';
import type { ServerContext } from './app.ts';
import type { SessionRecord } from './session-registry.ts';

const Id = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . : @ -');
const Time = z
  .string()
  .max(40)
  .transform((s, ctx) => {
    const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO date' });
      return z.NEVER;
    }
    return ms;
  });
const ListQuery = z
  .object({
    user_id: Id.optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: z
      .string()
      .regex(/^\d{1,3}$/, 'must be 1-100')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 100, 'must be 1-100')
      .optional(),
    cursor: z.string().max(512).optional(),
  })
  .strict();

/** The conversation of a session: live from the registry, otherwise from the store. */
export async function transcriptRecord(ctx: ServerContext, id: string): Promise<SessionRecord | undefined> {
  const live = ctx.registry.isLive(id) ? ctx.registry.get(id) : undefined;
  if (live) return live;
  if (Id.safeParse(id).success) {
    await ctx.data.writer.flush();
    const stored = await ctx.data.store.getSession(id);
    if (stored) {
      const s = stored.session;
      return {
        id: s.id,
        transport: s.transport,
        mode: s.mode,
        startedAt: s.startedAt,
        ...(s.closedAt !== undefined ? { closedAt: s.closedAt } : {}),
        ...(s.closeReason !== undefined ? { closeReason: s.closeReason } : {}),
        transcript: stored.history,
      };
    }
  }
  return ctx.registry.get(id);
}

export function registerStoreRoutes(app: Hono, ctx: ServerContext): void {
  const { store, writer } = ctx.data;

  /** The data API serves personal data: it needs a server token (403 without), then the Bearer check. */
  const needsToken: MiddlewareHandler = async (c, next) => {
    if (!ctx.config.authToken) {
      return c.json(
        { info: 'The data API needs COLLOQUY_AUTH_TOKEN set on the server (it serves personal data)' },
        403,
      );
    }
    await next();
  };
  const badId = (c: Context, what: string, value: string): Response | undefined => {
    const r = Id.safeParse(value);
    return r.success
      ? undefined
      : c.json({ info: `Invalid ${what}: ${zodIssueText(r.error, { first: true })}` }, 400);
  };

  app.get('/sessions', needsToken, ctx.auth, async (c) => {
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) {
      return c.json({ info: `Invalid query: ${zodIssueText(parsed.error, { first: true })}` }, 400);
    }
    const q = parsed.data;
    await writer.flush();
    try {
      const page = await store.listSessions({
        ...(q.user_id !== undefined ? { userId: q.user_id } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
      return c.json(page);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'store_invalid_cursor')
        return c.json({ info: err.message }, 400);
      throw err;
    }
  });

  app.get('/sessions/:id', needsToken, ctx.auth, async (c) => {
    const no = badId(c, 'session id', c.req.param('id'));
    if (no) return no;
    await writer.flush();
    const detail = await store.getSession(c.req.param('id'));
    if (!detail) return c.json({ info: 'No such session' }, 404);
    return c.json(detail);
  });

  app.get('/users/:userId/memory', needsToken, ctx.auth, async (c) => {
    const userId = c.req.param('userId');
    const no = badId(c, 'user id', userId);
    if (no) return no;
    return c.json({ userId, facts: await store.loadFacts(userId) });
  });

  app.delete('/users/:userId/memory', needsToken, ctx.auth, async (c) => {
    const userId = c.req.param('userId');
    const no = badId(c, 'user id', userId);
    if (no) return no;
    const fact = c.req.query('fact');
    if (fact !== undefined && (fact.length === 0 || fact.length > 1000)) {
      return c.json({ info: 'Invalid fact: 1-1000 characters' }, 400);
    }
    return c.json({ userId, deleted: await store.deleteFacts(userId, fact) });
  });

  app.delete('/users/:userId', needsToken, ctx.auth, async (c) => {
    const userId = c.req.param('userId');
    const no = badId(c, 'user id', userId);
    if (no) return no;
    // Live sessions of the user end first, so nothing of theirs is written after the delete.
    // Sessions a restart picked up for them can no longer be resumed.
    ctx.resume?.forgetUser(userId);
    await Promise.allSettled(ctx.registry.liveOf(userId).map((s) => s.close('user_data_deleted')));
    await writer.flush();
    const deleted = await store.deleteUser(userId);
    return c.json({ userId, deletedSessions: deleted.sessions, deletedFacts: deleted.facts });
  });
}
