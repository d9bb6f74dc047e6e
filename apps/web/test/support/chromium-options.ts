// Debian's Chromium and its flags for the console e2e tests (console-browser.ts, chromium-server.ts).
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

declare module 'vitest' {
  export interface ProvidedContext {
    /** the run's Chromium (chromium-server.ts: a playwright-core browser server's WebSocket endpoint) */
    pkimChromium: string;
  }
}
