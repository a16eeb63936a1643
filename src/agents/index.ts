export * from './agent.ts';
export * from './memory.ts';
export * from './subagent.ts';
export * from './subagent-ui.ts';
export * from './transfer.ts';
