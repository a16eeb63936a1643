export * from './agent.ts';
export * from './transfer.ts';
export * from './subagent.ts';
