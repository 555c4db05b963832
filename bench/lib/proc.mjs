// Memory of a process tree, read from /proc (Linux). RSS is summed over the processes, so pages
// shared between them count more than once: it is an upper bound. workerd is reported apart from
// the wrangler/esbuild node processes that only supervise it.
import { readdirSync, readFileSync } from "node:fs";

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces: parse around the last ')'.
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const fields = s.slice(close + 2).split(" ");
    return { pid, comm, ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The given pid and all its descendants. */
export function processTree(rootPid) {
  const children = new Map();
  const byPid = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    byPid.set(st.pid, st);
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(st.pid);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const st = byPid.get(pid);
    if (st) out.push(st);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** RSS in MB of a process tree: total and the workerd processes alone. */
export function treeRss(rootPid) {
  let total = 0;
  let workerd = 0;
  for (const p of processTree(rootPid)) {
    const kb = rssKb(p.pid);
    total += kb;
    if (p.comm.startsWith("workerd")) workerd += kb;
  }
  return { totalMb: total / 1024, workerdMb: workerd / 1024 };
}

/** Samples treeRss every `intervalMs` until stop(); returns first, last and peak samples. */
export function rssSampler(rootPid, intervalMs = 200) {
  if (!rootPid) return { stop: () => null };
  const first = treeRss(rootPid);
  let last = first;
  const peak = { ...first };
  let samples = 1;
  const timer = setInterval(() => {
    last = treeRss(rootPid);
    samples++;
    peak.totalMb = Math.max(peak.totalMb, last.totalMb);
    peak.workerdMb = Math.max(peak.workerdMb, last.workerdMb);
  }, intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return { start: first, end: last, peak, samples, intervalMs };
    },
  };
}

/**
 * CPU time (user + system, ms) of every thread of every workerd process in a tree, by
 * "pid/tid". Threads, not processes: workerd runs a Worker's isolate, its Durable Objects and the
 * local simulators on one thread, and that one thread's saturation is what makes requests wait.
 */
export function workerdThreadCpuMs(rootPid) {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const out = {};
  for (const p of processTree(rootPid)) {
    if (!p.comm.startsWith("workerd")) continue;
    let tids = [];
    try {
      tids = readdirSync(`/proc/${p.pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const s = readFileSync(`/proc/${p.pid}/task/${tid}/stat`, "utf8");
        const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
        // Fields 14 and 15 of stat (utime, stime), counted after the comm's closing parenthesis.
        out[`${p.pid}/${tid}`] = (Number(f[11]) + Number(f[12])) * tick;
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}
