export * from './declarative/index.ts';
export * from './define-tool.ts';
export {
  type Delivery,
  findToolContext,
  type GuiPublisher,
  type ToolContext,
  toolContext,
} from './tool-context.ts';
export * from './tool-runner.ts';
