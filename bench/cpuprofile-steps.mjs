// Per-request µs of a sign route's steps in a server's main-thread .cpuprofile (bench:http with BENCH_CPU_PROF_DIR,
// one row per run): each step's INCLUSIVE share of the busy samples (idle and start-up left out) × the main thread's
// µs per request that bench:http printed for the row. Steps overlap where one calls another ("…" lines are parts of
// the line above). docs/benchmarks-record.md "Session 29: HTTP routes (h-http)".
// Usage: node bench/cpuprofile-steps.mjs --us=<main thread µs/req> <main thread .cpuprofile>
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const us = Number(args.find((a) => a.startsWith('--us='))?.slice(5));
const file = args.find((a) => !a.startsWith('--'));
if (!file || !(us > 0)) {
  console.error('usage: node bench/cpuprofile-steps.mjs --us=<main thread µs/req> <file.cpuprofile>');
  process.exit(2);
}

/** frames of the server's start-up: their samples are not requests' */
const STARTUP = new Set([
  'evaluate',
  'Module._load',
  'startServer',
  'buildServer',
  'compileSourceTextModule',
  'loadAndTranslate',
  'run',
  'moduleStrategy',
  'Boot._loadPlugin',
  'createAuthority',
  'openStore',
]);
const has = (stack, ...names) => stack.some((f) => names.includes(f.functionName));
const hasFrom = (stack, name, part) => stack.some((f) => f.functionName === name && f.url.includes(part));
/** step → does a sample's stack (innermost frame first) count for it */
const STEPS = [
  ['token check (authenticateToken)', (s) => has(s, 'authenticateToken')],
  ['… its PRAGMA data_version (Store.otherCommits)', (s) => has(s, 'authenticateToken') && has(s, 'otherCommits')],
  ['… its SHA-256 (sha256Hex)', (s) => has(s, 'sha256Hex')],
  ['Vault: route lookup (findVaultRoute)', (s) => has(s, 'findVaultRoute')],
  ["Vault: the mount view's PRAGMA data_version (requestView)", (s) => has(s, 'requestView') && has(s, 'otherCommits')],
  [
    'body read (readBody; Fastify content-type parser)',
    (s) => has(s, 'readBody') || s.some((f) => f.url.includes('content-type-parser')),
  ],
  ['JSON.parse of the body (parseJsonBody, parseBody)', (s) => has(s, 'parseJsonBody', 'parseBody')],
  [
    'input checks (checkedSignInput, checkedCaRef, checkAccess, zod safeParse)',
    (s) => has(s, 'checkedSignInput', 'checkedCaRef', 'checkAccess', 'safeParse'),
  ],
  ['Vault: the plan (planRequest)', (s) => has(s, 'planRequest')],
  ['… its CSR read (readCsrUnverified)', (s) => has(s, 'planRequest') && has(s, 'readCsrUnverified')],
  ['… its name rules (checkRoleNames)', (s) => has(s, 'checkRoleNames')],
  ['SVID: deny list (findDenied)', (s) => s.some((f) => f.functionName.includes('findDenied'))],
  ['SVID: SPIFFE CA state (signingState)', (s) => has(s, 'signingState')],
  [
    "the answer's JSON text (signAnswerJson, jsonTextOf, envelopeOf, Fastify's serialize)",
    (s) =>
      has(s, 'signAnswerJson', 'jsonTextOf', 'envelopeOf', 'serialize', 'preSerializationHookEnd') &&
      !hasFrom(s, 'end', '_http_outgoing'),
  ],
  ["the answer's bytes (Buffer.from in writeJsonText)", (s) => has(s, 'writeJsonText') && has(s, 'from')],
  ['the head (writeHead, _storeHeader)', (s) => has(s, 'writeHead', '_storeHeader')],
  ['res.end → writev', (s) => hasFrom(s, 'end', '_http_outgoing')],
  ['… the writev syscall', (s) => s[0].functionName === 'writev'],
  ['request id (requestIdOf)', (s) => has(s, 'requestIdOf')],
  [
    'histogram + `request completed` line (finish)',
    (s) => s.some((f) => f.functionName === 'finish' && f.url !== '' && !f.url.startsWith('node:')),
  ],
  [
    'Fastify and find-my-way frames (inclusive: what they call too)',
    (s) => s.some((f) => /\/fastify\/|find-my-way/.test(f.url)),
  ],
  [
    "Node's HTTP request side (llhttp callbacks)",
    (s) => has(s, 'parserOnHeadersComplete', 'parserOnIncoming', 'parserOnBody', 'parserOnMessageComplete'),
  ],
  ['GC', (s) => s[0].functionName === '(garbage collector)'],
  ['pool hand-off (postMessage)', (s) => has(s, 'postMessage')],
  ['group commit (sqliteTransaction)', (s) => has(s, 'sqliteTransaction')],
];

const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const sums = STEPS.map(() => 0);
let busy = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i + 1] ?? 0;
  const stack = [];
  for (let id = p.samples[i]; id !== undefined; id = parent.get(id)) stack.push(byId.get(id).callFrame);
  if (stack[0].functionName === '(idle)' || stack.some((f) => STARTUP.has(f.functionName))) continue;
  busy += dt;
  STEPS.forEach(([, counts], k) => {
    if (counts(stack)) sums[k] += dt;
  });
}
console.log(`busy main thread ${(busy / 1000).toFixed(0)} ms (idle and start-up left out); µs at ${us} µs/request\n`);
STEPS.forEach(([name], k) => {
  if (sums[k] > 0) {
    const share = sums[k] / busy;
    console.log(`${(us * share).toFixed(1).padStart(7)} µs ${(100 * share).toFixed(2).padStart(6)} %  ${name}`);
  }
});
