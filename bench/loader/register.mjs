/**
 * `node --import ./bench/loader/register.mjs bench/run.ts`: runs the benchmark's TypeScript the
 * way the published package runs, compiled by the TypeScript compiler (as `npm run build` does).
 *
 * Why not tsx: it compiles with esbuild's `keepNames`, which wraps every named function and arrow
 * in a helper that redefines its `name`. That gives each such closure its own property store
 * (~250 bytes) and a slow path at every creation, a cost the built package does not have, and one
 * the AI SDK floor (plain JavaScript from node_modules) never pays: measured through tsx, the
 * framework looks several KB per session and a fraction of a millisecond per turn heavier than
 * it is.
 */
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
