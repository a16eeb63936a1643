/**
 * The scripted subagent-UI scenario the end-to-end tests share: the user asks to leave later, the
 * main agent (`concierge`) hands it to the background subagent `desk`, which asks the user
 * `QUESTION` (yes / no) through the client; answered "yes", the main agent tells the user `BOOKED`.
 * A server config file plus its `scripted:` LLM script, for `startTestServer` (or a `colloquy start`
 * config directory).
 */

export const QUESTION = 'Late check out until one costs twenty euros. Book it?';
export const BOOKED = 'Your late check out is booked.';
/** What the user types to start the scenario. */
export const LEAVE_LATER = 'Could I leave later tomorrow?';
/** What the main agent says once it handed the request to the subagent. */
export const ASKED_DESK = 'I asked the front desk.';

/** One rule of a `scripted:` LLM script. */
export interface ScriptRule {
  when: string;
  call?: { name: string; args: Record<string, unknown> };
  say: string;
}

export interface SubagentScenarioOptions {
  /** Rules matched before the scenario's own (the first match wins). */
  rules?: ScriptRule[];
  /** Tools of the config file (`tools`); the main agent gets them all. */
  tools?: Array<{ name: string } & Record<string, unknown>>;
  /** Fallback of the script. */
  fallback?: string;
}

/** The config file (`file`) and script (`files`) of the scenario, for `startTestServer`. */
export function subagentScenario(options: SubagentScenarioOptions = {}) {
  const tools = options.tools ?? [];
  return {
    file: {
      mode: 'agent',
      models: { llm: 'scripted:script.json' },
      agents: [
        {
          name: 'concierge',
          instructions: 'Be brief.',
          subagents: ['desk'],
          transfers: [],
          tools: tools.map((t) => t.name),
        },
        { name: 'desk', instructions: 'You run the front desk.', transfers: [], tools: [] },
      ],
      ...(tools.length ? { tools } : {}),
    },
    files: {
      'script.json': {
        rules: [
          ...(options.rules ?? []),
          {
            when: 'leave later',
            call: { name: 'handoff_to_desk', args: { task: 'ASK-GUEST about a late check out' } },
            say: ASKED_DESK,
          },
          {
            when: 'ASK-GUEST',
            call: { name: 'ask_user', args: { prompt: QUESTION, options: ['yes', 'no'] } },
            say: 'The guest answered {{result.value}}.',
          },
          { when: 'Subagent "desk" finished: The guest answered yes', say: BOOKED },
        ],
        fallback: options.fallback ?? 'Sorry, I did not get that.',
      },
    },
  };
}
