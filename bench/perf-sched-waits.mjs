// Where a thread waited for a core, from the kernel's scheduler events — what a V8 CPU profile cannot tell apart from
// work. V8's sampler takes wall-clock samples: a thread that is preempted (runnable, not running) gets its next
// sample when it runs again, with the whole gap as that sample's time, so the function it was preempted in looks busy.
// With compute workers that is mostly `postMessage` (docs/benchmarks-record.md, session 26): the write that wakes a
// sleeping worker lets the kernel run the worker on the poster's core at once.
//
// Record (root, or kernel.perf_event_paranoid ≤ 1; node's --perf-basic-prof names the JavaScript frames):
//   NODE_OPTIONS=--perf-basic-prof perf record -e sched:sched_switch -g -o /tmp/sched.data -- <command>
//   perf script -i /tmp/sched.data -F pid,tid,time,event,trace,ip,sym > /tmp/sched.txt
//   node bench/perf-sched-waits.mjs /tmp/sched.txt [<tid>]
// Without a tid: the threads with the most switches. With one (a process's main thread has tid = pid): each time it
// was switched out runnable (`prev_state=R`: preempted) and how long until it ran again, summed by where it was (the
// first frame of its stack, from the leaf up, that PLACES below names, else its first user-space frame); then its
// sleeps (it waited for work or for a lock) by where. Do not pass -F/-c to perf record: the sched_switch events must
// all be kept, not sampled.
import { readFileSync } from 'node:fs';

const [file, tid] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/perf-sched-waits.mjs <perf script output> [<tid>]');
  process.exit(2);
}

/** the place of a stack: the first of its frames, from the leaf up, that one of these names (else GENERIC's) */
const PLACES = [
  [/MessagePort::PostMessage/, 'postMessage (send: structured clone, then the write that wakes the receiver)'],
  [/MessagePort::OnMessage/, 'MessagePort::OnMessage (receive: the port lock, structured clone, dispatch)'],
  [/epoll_pwait|epoll_wait/, 'the event loop poll (epoll)'],
  [/Heap::|Scavenge|MarkCompact|ConcurrentMarking/, 'V8 GC'],
  [/sqlite3/, 'SQLite'],
  [/^JS:|^Builtins_/, 'JavaScript'],
];
const GENERIC = [
  [/^v8::/, 'V8 (runtime)'],
  [/^node::/, 'Node (runtime)'],
];
const KERNEL =
  /^(__schedule|schedule|preempt_schedule|irqentry|asm_|do_syscall|entry_SYSCALL|__x64_sys|futex|do_futex|__futex|ep_poll|do_epoll|__do_sys|exit_to_user|syscall_exit|ksys_|vfs_|eventfd|pipe_|try_to_wake|ttwu|wake_up|schedule_)/;

function placeOf(stack) {
  for (const places of [PLACES, GENERIC])
    for (const f of stack) for (const [re, name] of places) if (re.test(f)) return name;
  return stack.find((f) => !KERNEL.test(f)) ?? stack[0] ?? '?';
}

/** @type {{ tid: string; t: number; trace: string; stack: string[] }[]} */
const events = [];
let cur;
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line.trim()) {
    if (cur) events.push(cur);
    cur = undefined;
    continue;
  }
  const head = /^\s*(?:\d+\/)?(\d+)\s+([\d.]+):\s+sched:sched_switch:\s+(.*)$/.exec(line);
  if (head) {
    if (cur) events.push(cur);
    cur = { tid: head[1], t: Number(head[2]), trace: head[3], stack: [] };
  } else if (cur && /^\s/.test(line)) {
    const m = /^\s*[0-9a-f]+\s+(.*?)(?:\s+\((?:\/[^)]*|\[[^\]]*\])\))?$/.exec(line);
    if (m) cur.stack.push(m[1]);
  }
}
if (cur) events.push(cur);

if (!tid) {
  const n = new Map();
  for (const e of events) {
    const m = /prev_pid=(\d+)/.exec(e.trace);
    if (m) n.set(m[1], (n.get(m[1]) ?? 0) + 1);
  }
  console.log('thread id | switches out');
  for (const [k, v] of [...n].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${k} | ${v}`);
  process.exit(0);
}

const preempted = new Map(); // place → { n, ms }
const sleeps = new Map(); // place → { n, ms }
let out;
let first;
let last;
for (const e of events) {
  const m = /prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)/.exec(e.trace);
  if (!m) continue;
  const [, prev, state, next] = m;
  if (prev === tid) {
    first ??= e.t;
    out = { t: e.t, runnable: state.startsWith('R'), place: placeOf(e.stack) };
  }
  if (next === tid && out) {
    const to = out.runnable ? preempted : sleeps;
    const s = to.get(out.place) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += (e.t - out.t) * 1000;
    to.set(out.place, s);
    out = undefined;
    last = e.t;
  }
}
const total = (m) => [...m.values()].reduce((a, s) => a + s.ms, 0);
const table = (title, m) => {
  console.log(`\n${title}\n\n| where | times | ms until it ran again | share |\n|---|---:|---:|---:|`);
  const all = total(m);
  for (const [k, s] of [...m].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(`| ${k} | ${s.n} | ${s.ms.toFixed(1)} | ${((100 * s.ms) / all).toFixed(1)} % |`);
  }
};
console.log(`thread ${tid}: ${first === undefined ? 0 : (last - first).toFixed(2)} s of events`);
table(`preempted (runnable, waiting for a core): ${total(preempted).toFixed(0)} ms in all`, preempted);
table(`asleep (waiting for work or a lock): ${total(sleeps).toFixed(0)} ms in all`, sleeps);
