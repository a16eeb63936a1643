/** Session list paging: newest first, an opaque cursor naming the last session of the page. */
import { parseJsonOrThrow } from '../json-limits.ts';
import { StoreError } from './store-error.ts';
import type { SessionQuery } from './types.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface Cursor {
  startedAt: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.startedAt, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    if (cursor.length > 512) throw new Error('too long');
    const v = parseJsonOrThrow(Buffer.from(cursor, 'base64url').toString('utf8'), {
      maxBytes: 512,
      maxDepth: 1,
    });
    if (Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && typeof v[1] === 'string') {
      return { startedAt: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new StoreError('store_invalid_cursor', 'The cursor is not one this server gave out');
}

export function pageSize(query: SessionQuery): number {
  const n = query.limit ?? DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(n)));
}

/** Newest first: by `startedAt` descending, then `id` descending. True when `a` comes after cursor `c`. */
export function isAfter(a: Cursor, c: Cursor): boolean {
  return a.startedAt < c.startedAt || (a.startedAt === c.startedAt && a.id < c.id);
}
