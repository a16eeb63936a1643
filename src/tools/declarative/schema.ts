/**
 * Declarative JSON tools (seed 000): `{ name, kind, description, input_schema, config }` where kind is
 * `client_event` (publish the LLM's raw arguments on a data-channel topic), `http` (call an HTTP API),
 * `kb` (search a knowledge base) or `client_function` (run on the connected client, which answers with
 * the result, e.g. an RTVI client's `registerFunctionCallHandler`). Definitions are validated here.
 */
import { z } from 'zod';
import { urlTemplateProblem } from './url-template.ts';

const JsonSchemaObject = z
  .object({ type: z.literal('object') })
  .passthrough()
  .describe('JSON Schema of the tool input (an object schema)');

const Base = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -'),
  description: z.string().min(1).max(2000),
  input_schema: JsonSchemaObject.optional(),
  timeout_ms: z.number().int().positive().max(300_000).optional(),
  execution: z.enum(['inline', 'background']).optional(),
});

export const ClientEventToolSchema = Base.extend({
  kind: z.literal('client_event'),
  config: z.object({ topic: z.string().min(1).max(256) }),
});

export const HttpToolSchema = Base.extend({
  kind: z.literal('http'),
  config: z.object({
    url: z.string().url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    /** Largest response body read, in bytes (default 64 KiB). */
    max_response_bytes: z.number().int().positive().max(10_000_000).optional(),
    /**
     * Internal hosts, IP addresses or CIDR ranges this tool may reach on purpose (loopback, private
     * and link-local addresses are refused otherwise), e.g. `["10.0.0.0/8", "billing.internal"]`.
     */
    allow: z.array(z.string().min(1).max(253)).max(100).optional(),
  }),
}).superRefine((def, ctx) => {
  const problem = urlTemplateProblem(def.config.url);
  if (problem) ctx.addIssue({ code: 'custom', path: ['config', 'url'], message: problem });
});

export const KbDocumentSchema = z.object({
  id: z.string().min(1).optional(),
  title: z.string().max(500).optional(),
  text: z.string().min(1).max(200_000),
});

export const KbToolSchema = Base.extend({
  kind: z.literal('kb'),
  config: z
    .object({
      documents: z.array(KbDocumentSchema).max(10_000).optional(),
      /** A JSON file with an array of documents (resolved by the config loader). */
      file: z.string().optional(),
      top_k: z.number().int().min(1).max(20).default(3),
    })
    .refine((c) => c.documents !== undefined || c.file !== undefined, 'kb tools need documents or a file'),
});

/** A tool the client runs: the server asks, the client answers with the result (or the call times out). */
export const ClientFunctionToolSchema = Base.extend({
  kind: z.literal('client_function'),
  config: z.object({}).strict().optional(),
});

/**
 * The zod schema of one declarative tool (`client_event`, `http`, `kb` or `client_function`).
 *
 * @example
 * ```ts
 * import { DeclarativeToolSchema } from 'colloquy';
 *
 * const result = DeclarativeToolSchema.safeParse({
 *   name: 'open_ticket',
 *   kind: 'client_function',
 *   description: 'Open a support ticket in the app',
 *   timeout_ms: 10_000,
 * });
 * if (!result.success) console.error(result.error.issues);
 * ```
 */
export const DeclarativeToolSchema = z.discriminatedUnion('kind', [
  ClientEventToolSchema,
  HttpToolSchema,
  KbToolSchema,
  ClientFunctionToolSchema,
]);

export type DeclarativeTool = z.infer<typeof DeclarativeToolSchema>;
export type ClientEventTool = z.infer<typeof ClientEventToolSchema>;
export type HttpTool = z.infer<typeof HttpToolSchema>;
export type KbTool = z.infer<typeof KbToolSchema>;
export type ClientFunctionTool = z.infer<typeof ClientFunctionToolSchema>;
export type KbDocument = z.infer<typeof KbDocumentSchema>;
