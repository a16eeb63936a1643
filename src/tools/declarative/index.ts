export * from './build.ts';
export * from './http.ts';
export * from './kb.ts';
export * from './schema.ts';
export * from './url-template.ts';
