/**
 * Process figures read from /proc (Linux): CPU time and resident memory of a
 * process tree, and the machine's load average. Benchmarks use them to charge
 * the worker, PostgreSQL and the Temporal server with what they spent.
 */
import fs from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100;

function stat(pid: number): { ppid: number; cpuMs: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields start after its closing parenthesis.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** The pid and every descendant of it that runs now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Pids whose command line contains `needle` (e.g. a data directory). */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The direct children of a process, except those listed. */
export function childrenOf(pid: number, except: number[] = []): number[] {
  return processTree(pid).filter((p) => p !== pid && stat(p)?.ppid === pid && !except.includes(p));
}

/** CPU milliseconds (user + system) spent so far by these processes and their descendants. */
export function cpuMsOfTrees(roots: number[]): number {
  const seen = new Set<number>();
  let total = 0;
  for (const r of roots) {
    for (const pid of processTree(r)) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      total += stat(pid)?.cpuMs ?? 0;
    }
  }
  return total;
}

/** Resident set size of one process in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number; peak(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), everyMs);
  timer.unref();
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, rssBytes(pid));
      return peak;
    },
  };
}

/** "load average 1.23 0.98 0.70 on 2 cores": printed with every benchmark's figures. */
export function loadAverage(): string {
  return `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${os.cpus().length} cores`;
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/**
 * Time the threads of a process spent on a CPU and waiting for one (runnable
 * but not running: the machine's other work), in ms, from
 * /proc/<pid>/task/<tid>/schedstat, all threads and the main thread's wait
 * (a Node process's event loop). Threads that exited are not counted.
 */
export function schedMs(pid: number): { runMs: number; waitMs: number; mainWaitMs: number } {
  let run = 0;
  let wait = 0;
  let mainWait = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const [r, w] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
        run += r;
        wait += w;
        if (tid === String(pid)) mainWait = w;
      } catch {
        /* gone */
      }
    }
  } catch {
    /* gone */
  }
  return { runMs: run / 1e6, waitMs: wait / 1e6, mainWaitMs: mainWait / 1e6 };
}
