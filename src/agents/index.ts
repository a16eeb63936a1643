export * from './agent.ts';
export * from './memory.ts';
export * from './subagent.ts';
export * from './transfer.ts';
