export * from './messages.ts';
export * from './rtvi-projection.ts';
export * from './rtvi-table.ts';
