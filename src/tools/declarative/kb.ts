/** A small full-text knowledge base on Orama (BM25), for `kb` tools. Documents are split into passages. */
import { requireOptional } from '../../optional-dependency.ts';
import type { KbDocument } from './schema.ts';

/** The part of `@orama/orama` (an optional dependency, loaded on first use) that the KB uses. */
interface OramaDb {
  readonly __orama: unique symbol;
}
interface Orama {
  create(options: { schema: Record<string, 'string'> }): OramaDb;
  insertMultiple(db: OramaDb, docs: Record<string, string>[]): unknown;
  search(
    db: OramaDb,
    params: { term: string; properties: string[]; limit: number },
  ):
    | Promise<{ hits: { document: unknown; score: number }[] }>
    | { hits: { document: unknown; score: number }[] };
}

function loadOrama(): Orama {
  return requireOptional<Orama>('@orama/orama', 'Knowledge-base tools (kb)');
}

export interface KbHit {
  id: string;
  title?: string;
  text: string;
  score: number;
}

const PASSAGE_CHARS = 800;

/** Split text into passages of about PASSAGE_CHARS at paragraph or sentence boundaries. */
export function splitPassages(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const para of text.split(/\n\s*\n/)) {
    const sentences = para.match(/[^.!?]+[.!?]*\s*/g) ?? [para];
    for (const s of sentences) {
      if (current.length + s.length > PASSAGE_CHARS && current.trim()) {
        out.push(current.trim());
        current = '';
      }
      current += s;
    }
    current += '\n';
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * Full-text search over documents (what `kb` tools use); needs the optional `@orama/orama` package.
 *
 * @example
 * ```ts
 * import { KnowledgeBase } from 'colloquy';
 *
 * const kb = KnowledgeBase.fromDocuments([
 *   { id: 'checkin', title: 'Check-in', text: 'Check-in starts at 3 pm. Early check-in on request.' },
 *   { id: 'pets', title: 'Pets', text: 'Dogs up to 10 kg are welcome for a fee of 20 euros a night.' },
 * ]);
 * const hits = await kb.search('can I bring my dog', 2);
 * console.log(hits[0]?.id, hits[0]?.score);
 * ```
 */
export class KnowledgeBase {
  private constructor(
    private readonly orama: Orama,
    private readonly db: OramaDb,
    private readonly ready: Promise<void>,
  ) {}

  static fromDocuments(documents: KbDocument[]): KnowledgeBase {
    const orama = loadOrama();
    const db = orama.create({ schema: { docId: 'string', title: 'string', text: 'string' } });
    const rows = documents.flatMap((d, i) =>
      splitPassages(d.text).map((text) => ({ docId: d.id ?? `doc-${i + 1}`, title: d.title ?? '', text })),
    );
    const ready = Promise.resolve(orama.insertMultiple(db, rows)).then(() => undefined);
    return new KnowledgeBase(orama, db, ready);
  }

  async search(query: string, topK = 3): Promise<KbHit[]> {
    await this.ready;
    const res = await this.orama.search(this.db, {
      term: query.slice(0, 500),
      properties: ['title', 'text'],
      limit: topK,
    });
    return res.hits.map((h) => {
      const doc = h.document as unknown as { docId: string; title: string; text: string };
      return {
        id: doc.docId,
        ...(doc.title ? { title: doc.title } : {}),
        text: doc.text,
        score: Math.round(h.score * 1000) / 1000,
      };
    });
  }
}
