// Rules of the signing pipeline that other services use too (ca-service.ts): a module of their own, so importing
// them does not load the pipeline (made on its first signature, create-authority.ts).

/** X.509 times have whole seconds: plan and store exactly what the certificate will say. */
export const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** the names a CA may have */
export const CA_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
