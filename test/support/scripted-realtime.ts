/**
 * A realtime model in memory, driven by the test: every connect is recorded with its config and
 * options, can be held open (`hold()`) or refused (`refuse()`), and each connection records what the
 * session asks of it (`calls`) and takes provider events by hand (`emit`). No sockets, no timers:
 * what happens between two events is exactly what the code under test does.
 */
import type {
  RealtimeCapabilities,
  RealtimeConnection,
  RealtimeConnectOptions,
  RealtimeEvent,
  RealtimeModel,
  RealtimeSessionConfig,
} from '../../src/providers/realtime/types.ts';
import { SPECIFICATION_VERSIONS } from '../../src/specification-version.ts';

export type ConnCall =
  | ['sendAudio', number[]]
  | ['startInput']
  | ['commitInput']
  | ['sendText', string]
  | ['say', string]
  | ['sendToolResult', string, string, unknown]
  | ['cancelResponse']
  | ['truncate', string, number]
  | ['updateSession', RealtimeSessionConfig]
  | ['close'];

export class ScriptedConnection implements RealtimeConnection {
  readonly calls: ConnCall[] = [];
  open = true;
  /** What `updateSession` answers (false: the provider needs a new connection). */
  liveUpdate = true;
  constructor(
    readonly config: RealtimeSessionConfig,
    readonly options: RealtimeConnectOptions,
    withSay: boolean,
  ) {
    if (!withSay) (this as { say?: unknown }).say = undefined;
  }
  /** A provider event, delivered as the adapter would. */
  emit(...events: RealtimeEvent[]): void {
    for (const e of events) this.options.onEvent(e);
  }
  sendAudio(pcm: Int16Array): void {
    this.calls.push(['sendAudio', [...pcm]]);
  }
  startInput(): void {
    this.calls.push(['startInput']);
  }
  commitInput(): void {
    this.calls.push(['commitInput']);
  }
  sendText(text: string): void {
    this.calls.push(['sendText', text]);
  }
  say?(text: string): void {
    this.calls.push(['say', text]);
  }
  sendToolResult(callId: string, name: string, result: unknown): void {
    this.calls.push(['sendToolResult', callId, name, result]);
  }
  cancelResponse(): void {
    this.calls.push(['cancelResponse']);
  }
  truncate(itemId: string, ms: number): void {
    this.calls.push(['truncate', itemId, ms]);
  }
  updateSession(config: RealtimeSessionConfig): boolean {
    this.calls.push(['updateSession', config]);
    return this.liveUpdate;
  }
  close(): void {
    this.open = false;
    this.calls.push(['close']);
  }
  /** The calls of one kind, without their name. */
  of<K extends ConnCall[0]>(
    kind: K,
  ): Array<Extract<ConnCall, [K, ...unknown[]]> extends [K, ...infer R] ? R : never> {
    return this.calls.filter((c) => c[0] === kind).map((c) => c.slice(1)) as never;
  }
  /** The names of the calls, in order (audio left out unless asked). */
  kinds(withAudio = false): string[] {
    return this.calls.map((c) => c[0]).filter((k) => withAudio || k !== 'sendAudio');
  }
}

interface Attempt {
  config: RealtimeSessionConfig;
  options: RealtimeConnectOptions;
}

export class ScriptedRealtimeModel implements RealtimeModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.realtime;
  readonly provider: string;
  readonly modelId: string;
  readonly inputSampleRate: number;
  readonly outputSampleRate = 24000;
  readonly capabilities: RealtimeCapabilities;
  /** Every connect asked for, in order. */
  readonly attempts: Attempt[] = [];
  /** Connections made (resolved), in order. */
  readonly connections: ScriptedConnection[] = [];
  private plan: Array<{ kind: 'refuse'; err: unknown } | { kind: 'hold'; gate: Promise<void> }> = [];
  private readonly withSay: boolean;
  private readonly early: RealtimeEvent[][] = [];

  constructor(
    o: {
      provider?: string;
      modelId?: string;
      inputSampleRate?: number;
      capabilities?: Partial<RealtimeCapabilities>;
      say?: boolean;
    } = {},
  ) {
    this.provider = o.provider ?? 'scripted';
    this.modelId = o.modelId ?? 'scripted-1';
    this.inputSampleRate = o.inputSampleRate ?? 16000;
    this.capabilities = {
      resumption: false,
      truncation: true,
      liveUpdate: true,
      speechEvents: true,
      ...o.capabilities,
    };
    this.withSay = o.say ?? true;
  }

  /** The next connect fails with `err`. */
  refuse(err: unknown): void {
    this.plan.push({ kind: 'refuse', err });
  }

  /** The next connect waits until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.plan.push({ kind: 'hold', gate });
    return release;
  }

  /** The next connect emits these events before it resolves (as an adapter emits `ready`). */
  emitOnConnect(...events: RealtimeEvent[]): void {
    this.early.push(events);
  }

  /** The newest connection made. */
  get last(): ScriptedConnection {
    const c = this.connections.at(-1);
    if (!c) throw new Error('no connection yet');
    return c;
  }

  async connect(config: RealtimeSessionConfig, options: RealtimeConnectOptions): Promise<RealtimeConnection> {
    this.attempts.push({ config, options });
    const step = this.plan.shift();
    if (step?.kind === 'refuse') throw step.err;
    if (step?.kind === 'hold') await step.gate;
    for (const e of this.early.shift() ?? []) options.onEvent(e);
    const conn = new ScriptedConnection(config, options, this.withSay);
    this.connections.push(conn);
    return conn;
  }
}

/** Resolves after pending promise callbacks have run (microtasks and one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
