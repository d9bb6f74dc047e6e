// Loaded on first use with `await import('./lazy/authority-runtime')`: a separate chunk of the compiled CLI, so
// `pkim --help`, usage errors and commands that need no authority never load the store, the key backends, core,
// the logger or their dependencies. (Importing '@pkim/authority' itself dynamically would make the whole package
// index an entry of the bundle and pull every module it re-exports into the startup chunk.)
export { createAuthority } from '@pkim/authority';
