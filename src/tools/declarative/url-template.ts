/**
 * The URL template of an `http` tool: `{{arg}}` placeholders may stand in the path and the query
 * only, never in the scheme, credentials, host or port (so no argument can pick where the request
 * goes). Values are percent-encoded into their component; `.`, `..` and '' as a path value are
 * refused (an argument cannot climb or collapse the path). Arguments left over go in the query
 * (GET/DELETE), where they may not replace a parameter the template fixes.
 */
import { ToolError } from '../../errors.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const TEMPLATE = /^(https?):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

/** A parsed template: its fixed origin, and path/query that may hold placeholders. */
export interface UrlTemplate {
  origin: string;
  path: string;
  query: string;
}

/** What is wrong with a template, or undefined when it is fine. */
export function urlTemplateProblem(template: string): string | undefined {
  const match = TEMPLATE.exec(template);
  if (!match) return 'must be an http(s)://host/... URL';
  const [, scheme, authority] = match;
  if (authority.includes('{{') || authority.includes('}}')) {
    return 'placeholders may only stand in the path or the query, not in the host';
  }
  let origin: URL;
  try {
    origin = new URL(`${scheme}://${authority}/`);
  } catch {
    return 'has an invalid host';
  }
  if (origin.username || origin.password) return 'must not carry credentials (use headers)';
  return undefined;
}

/** Parses a template checked by `urlTemplateProblem` (the tool schema does that). */
export function parseUrlTemplate(template: string): UrlTemplate {
  const problem = urlTemplateProblem(template);
  const match = TEMPLATE.exec(template);
  if (problem || !match) throw new ToolError('invalid_http_url', `http tool URL ${problem}`);
  const [, scheme, authority, path, query = ''] = match;
  return { origin: new URL(`${scheme}://${authority}/`).origin, path: path || '/', query };
}

function argText(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') {
    throw new ToolError('invalid_tool_args', `Argument "${name}" must be a string or number for the URL`);
  }
  return String(value);
}

/** The request URL, and the arguments no placeholder used (appended to the query when asked). */
export function expandUrlTemplate(
  template: UrlTemplate,
  args: Record<string, unknown>,
  extraInQuery: boolean,
): { url: URL; rest: Record<string, unknown> } {
  const rest: Record<string, unknown> = { ...args };
  const fill = (text: string, inPath: boolean) =>
    text.replace(PLACEHOLDER, (_m, key: string) => {
      const value = argText(key, rest[key]);
      delete rest[key];
      if (inPath && (value === '.' || value === '..' || value === '')) {
        throw new ToolError('invalid_tool_args', `Argument "${key}" must be a non-empty path segment`);
      }
      return encodeURIComponent(value);
    });
  const url = new URL(`${fill(template.path, true)}${fill(template.query, false)}`, template.origin);
  if (url.origin !== template.origin) {
    throw new ToolError('invalid_tool_args', 'Arguments may not change the host of an http tool');
  }
  if (extraInQuery) {
    const fixed = new Set(url.searchParams.keys());
    for (const [key, value] of Object.entries(rest)) {
      if (value === undefined || value === null) continue;
      if (fixed.has(key)) {
        throw new ToolError('invalid_tool_args', `Argument "${key}" would override a fixed query parameter`);
      }
      url.searchParams.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
  }
  return { url, rest };
}
