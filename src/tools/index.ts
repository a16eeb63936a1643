export * from './declarative/index.ts';
export * from './define-tool.ts';
export * from './tool-runner.ts';
