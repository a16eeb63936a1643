import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';
const merged = mergeConfig(base, defineConfig({}));
merged.test.globalSetup = [];
export default merged;
