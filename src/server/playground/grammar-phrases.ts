/**
 * The phrases a JSGF grammar accepts, for the playground's "try saying" hints when the server
 * recognises speech with a grammar (the offline demo's pocketsphinx). Handles the plain subset the
 * demo uses — rules of words, `<references>` and `|` alternatives — and skips anything else
 * (optional `[ ]`, groups, repeats, tags). Bounded: at most `limit` phrases, references 8 deep.
 */

const RULE = /^\s*(public\s+)?<([A-Za-z0-9_.-]+)>\s*=\s*([^;]*);/;
const PLAIN = /^[\p{L}\p{N}' <>A-Za-z0-9_.-]+$/u;

export function grammarPhrases(jsgf: string, limit = 40): string[] {
  const rules = new Map<string, string[]>();
  const publicRules: string[] = [];
  for (const line of jsgf.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '').split('\n')) {
    const m = RULE.exec(line);
    if (!m) continue;
    rules.set(
      m[2],
      m[3].split('|').map((a) => a.trim()),
    );
    if (m[1]) publicRules.push(m[2]);
  }
  const out = new Set<string>();
  const expand = (alternative: string, depth: number): string[] => {
    if (depth > 8 || !PLAIN.test(alternative)) return [];
    let results = [''];
    for (const token of alternative.split(/\s+/).filter(Boolean)) {
      const ref = /^<([A-Za-z0-9_.-]+)>$/.exec(token);
      const options = ref ? (rules.get(ref[1]) ?? []).flatMap((a) => expand(a, depth + 1)) : [token];
      results = results.flatMap((r) => options.map((o) => (r ? `${r} ${o}` : o))).slice(0, limit);
    }
    return results;
  };
  for (const name of publicRules) {
    for (const alternative of rules.get(name) ?? []) {
      for (const phrase of expand(alternative, 0)) if (out.size < limit) out.add(phrase);
    }
  }
  return [...out];
}
