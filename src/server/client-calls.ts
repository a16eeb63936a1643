/**
 * Client-side function calls (`client_function` tools) over RTVI: the server announces the call with
 * `llm-function-call-in-progress {tool_call_id, function_name, arguments}` (which runs the handler the
 * client registered with `registerFunctionCallHandler`) and waits for `llm-function-call-result` with
 * the same `tool_call_id`. The tool's own timeout (`timeout_ms`, else the session default) aborts the
 * wait; an interrupted turn or closed session aborts it too.
 */
import { ToolError } from '../errors.ts';
import type { ClientFunctionCall } from '../tools/declarative/index.ts';

interface Pending {
  name: string;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/** Most calls waiting on the client at once (a bound on memory; the LLM makes a few per turn). */
const MAX_PENDING = 64;

export class ClientCalls {
  private readonly pending = new Map<string, Pending>();

  /**
   * @param announce sends the request to the client; it is not called when the projection already
   *   sent `llm-function-call-in-progress` for this call (pass `undefined` then).
   */
  constructor(private readonly announce: ((call: ClientFunctionCall) => void) | undefined) {}

  get size(): number {
    return this.pending.size;
  }

  call(call: ClientFunctionCall, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.pending.size >= MAX_PENDING) {
      return Promise.reject(new ToolError('client_calls_full', 'Too many client function calls pending'));
    }
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(call.toolCallId);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(call.toolCallId, {
        name: call.name,
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.announce?.(call);
    });
  }

  /** A `llm-function-call-result` arrived. Returns false when no such call is waiting. */
  settle(toolCallId: string, functionName: string, result: unknown): boolean {
    const p = this.pending.get(toolCallId);
    if (!p || p.name !== functionName) return false;
    this.pending.delete(toolCallId);
    p.resolve(result);
    return true;
  }

  /** Fails every waiting call (the client went away). */
  rejectAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new ToolError('client_gone', reason));
    }
  }
}
