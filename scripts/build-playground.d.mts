/** Builds the playground console into `outDir` (default dist/playground). */
export function buildPlayground(options?: { outDir?: string }): Promise<{ outDir: string; bytes: number }>;
