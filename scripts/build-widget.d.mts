/** Builds the drop-in voice widget into `outDir` (default dist/widget). */
export function buildWidget(options?: { outDir?: string }): Promise<{ outDir: string; file: string; bytes: number }>;
