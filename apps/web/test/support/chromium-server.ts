// Global setup of the `web` project (vitest.config.ts): one Chromium for the run's console e2e files. Each file
// connects to it and opens a browser context of its own (cookies, storage, downloads: nothing shared between files)
// instead of starting a Chromium per file (≈ 1–3 s each: docs/testing.md, "Session 31: suite time"). A file run
// without this setup starts its own (console-browser.ts).
import { chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium-options';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  project.provide('pkimChromium', server.wsEndpoint());
  return () => server.close();
}
