#!/usr/bin/env node
// pkim launcher: runs the TypeScript sources through tsx's ESM loader (no build step needed).
import { register } from 'tsx/esm/api';
register();
await import('../src/main.ts');
