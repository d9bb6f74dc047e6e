// Core's encoders, loaded on first use (see authority-runtime.ts for why this is a module of its own).
export { fromPem, parseDn, toPem } from '@pkim/core';
