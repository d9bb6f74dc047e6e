// Where an in-process row's idle is: the states of the main thread and of libuv's pool threads, moment by moment,
// from the kernel's scheduler events of the whole machine (docs/benchmarks-record.md, "Session 35: threads' states").
// For every interval between two events it knows each thread's state — running, runnable (waiting for a core) or
// asleep — and what each core ran (the main thread, the pool, the process's other threads, another process, nothing),
// and sums the row's window by the main thread's state, split by how many pool threads were running / runnable and
// by what the two cores ran. The pool has "no job" when none of its threads is running or runnable.
//
// Record (root, or kernel.perf_event_paranoid ≤ 1; `-a`: the other processes' switches tell who held the cores;
// `-k mono`: perf's times are CLOCK_MONOTONIC, as process.hrtime in the process):
//   perf record -k mono -a -e sched:sched_switch -e sched:sched_wakeup -o /tmp/sched.data -- <command>
//   perf script -i /tmp/sched.data -F cpu,time,event,trace > /tmp/sched.txt
//   node bench/perf-thread-states.mjs /tmp/sched.txt <t0> <t1> <pid> <pool tids, comma-separated> [<timeline start>]
// t0, t1: the row's window in seconds of CLOCK_MONOTONIC (print `Number(process.hrtime.bigint()) / 1e9` around it);
// the pool's tids: the threads of the process with about one voluntary switch per certificate
// (/proc/<pid>/task/*/status); a Node 20 process names none of its threads. With a timeline start (s), it also prints
// 30 ms from there, one character per 100 µs: the main thread running `#`, runnable `r`, asleep `.`, and under it the
// pool's threads with a job (running or runnable).
import { readFileSync } from 'node:fs';

const [file, t0s, t1s, pidS, poolS, lineS] = process.argv.slice(2);
if (!poolS) {
  console.error('usage: node bench/perf-thread-states.mjs <perf script output> <t0> <t1> <pid> <pool tids> [<t>]');
  process.exit(2);
}
const [t0, t1, main] = [Number(t0s), Number(t1s), Number(pidS)];
const pool = new Set(poolS.split(',').map(Number));
const SWITCH =
  /\[(\d+)\]\s+([\d.]+): sched:sched_switch: prev_comm=.*? prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)/;
const WAKEUP = /\[(\d+)\]\s+([\d.]+): sched:sched_wakeup: comm=.*? pid=(\d+)/;

/** 'X' running, 'R' runnable, 'S' asleep (a thread not seen yet is asleep) */
const state = new Map();
const stateOf = (tid) => state.get(tid) ?? 'S';
/** what each core runs */
const onCpu = new Map();
/** the process's threads: the main thread's pid and the tids near it that perf names node */
const ours = new Set([main, ...pool]);
const kind = (tid) =>
  tid === undefined || tid === 0
    ? 'idle'
    : tid === main
      ? 'main'
      : pool.has(tid)
        ? 'pool'
        : ours.has(tid)
          ? 'process'
          : 'other';
const sums = new Map();
const add = (key, d) => sums.set(key, (sums.get(key) ?? 0) + d);
const cores = new Set();
const line = { at: lineS === undefined ? undefined : Number(lineS), main: '', pool: '' };
let last;

function account(now) {
  if (line.at !== undefined && last !== undefined) {
    while (line.main.length < 300 && line.at + line.main.length * 1e-4 < now) {
      line.main += { X: '#', R: 'r', S: '.' }[stateOf(main)];
      const n = [...pool].filter((t) => stateOf(t) !== 'S').length;
      line.pool += n ? String(n) : '.';
    }
  }
  if (last === undefined) return;
  const d = Math.min(now, t1) - Math.max(last, t0);
  if (d <= 0) return;
  const m = stateOf(main);
  const running = [...pool].filter((t) => stateOf(t) === 'X').length;
  const runnable = [...pool].filter((t) => stateOf(t) === 'R').length;
  add(`main ${m}`, d);
  add(`main ${m}|pool ${running + runnable ? `${running} running, ${runnable} runnable` : 'no job'}`, d);
  add(
    `main ${m}|cores: ${[...cores]
      .map((c) => kind(onCpu.get(c)))
      .sort()
      .join(' + ')}`,
    d,
  );
  for (const c of cores) add(`core|${kind(onCpu.get(c))}`, d);
}

for (const text of readFileSync(file, 'utf8').split('\n')) {
  let m = SWITCH.exec(text);
  if (m) {
    const at = Number(m[2]);
    cores.add(m[1]);
    account(at);
    last = at;
    const [prev, next] = [Number(m[3]), Number(m[6])];
    state.set(prev, m[4].startsWith('R') ? 'R' : 'S');
    state.set(next, 'X');
    onCpu.set(m[1], next);
    if (m[5] === 'node' && next > main && next < main + 100) ours.add(next);
    continue;
  }
  m = WAKEUP.exec(text);
  if (m) {
    const at = Number(m[2]);
    account(at);
    last = at;
    if (stateOf(Number(m[3])) !== 'X') state.set(Number(m[3]), 'R');
  }
}

const window = t1 - t0;
const pct = (v, of = window) => `${((v / of) * 100).toFixed(1)} %`;
console.log(`window ${(window * 1000).toFixed(0)} ms, ${cores.size} cores; main ${main}, pool ${[...pool].join(',')}`);
console.log(
  'the cores ran: ' +
    [...sums]
      .filter(([k]) => k.startsWith('core|'))
      .map(([k, v]) => `${k.slice(5)} ${pct(v, window * cores.size)}`)
      .join(', '),
);
for (const [s, name] of [
  ['X', 'running'],
  ['R', 'runnable (waiting for a core)'],
  ['S', 'asleep (waiting for work)'],
]) {
  console.log(`main thread ${name}: ${pct(sums.get(`main ${s}`) ?? 0)} of the window`);
  const rows = [...sums].filter(([k]) => k.startsWith(`main ${s}|`)).sort((a, b) => b[1] - a[1]);
  for (const [k, v] of rows.slice(0, 10)) console.log(`  ${k.slice(k.indexOf('|') + 1)}: ${pct(v)}`);
}
if (line.at !== undefined) {
  for (let i = 0; i < line.main.length; i += 100) {
    console.log(`${(i / 10).toFixed(0).padStart(4)} ms main ${line.main.slice(i, i + 100)}`);
    console.log(`        pool ${line.pool.slice(i, i + 100)}`);
  }
}
