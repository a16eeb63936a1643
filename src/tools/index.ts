export * from './define-tool.ts';
export * from './tool-runner.ts';
