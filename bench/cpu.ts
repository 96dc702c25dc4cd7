import { readFileSync } from 'node:fs';
import { descendants } from './rss.js';

// Where the CPU goes: user + system seconds per role over a measured window, from /proc.
// A role is a set of processes found when sampled (a pid with its descendants, or every
// process of a network namespace); children that already exited and were reaped count
// through their parent's cutime/cstime, so a PostgreSQL backend's work is not lost.

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type PidSource = () => number[];

/** Stands for this process: its own CPU only (its reaped children's time is theirs, not the load generator's). */
export const SELF = -1;

/** utime + stime + cutime + cstime of one process, in seconds; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  if (pid === SELF) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5), counted from 1 with pid and comm first: here 11-14 from 0.
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function withDescendants(pid: () => number | undefined): PidSource {
  return () => {
    const root = pid();
    return root === undefined ? [] : [root, ...descendants(root)];
  };
}

export interface CpuShare {
  role: string;
  seconds: number;
  /** Share of all the roles' CPU seconds over the window. */
  share: number;
  /** Cores busy on average over the window. */
  cores: number;
}

/** Measures CPU seconds per role between start() and stop(). */
export class CpuMeter {
  private readonly roles = new Map<string, PidSource>();
  private before = new Map<string, Map<number, number>>();
  private startedAt = 0;

  role(name: string, pids: PidSource): this {
    this.roles.set(name, pids);
    return this;
  }

  start(): void {
    this.startedAt = Date.now();
    this.before = this.sample();
  }

  stop(): CpuShare[] {
    const wallS = (Date.now() - this.startedAt) / 1000;
    const after = this.sample();
    const used = [...this.roles.keys()].map((role) => {
      let seconds = 0;
      for (const [pid, cpu] of after.get(role) ?? []) seconds += cpu - (this.before.get(role)?.get(pid) ?? 0);
      return { role, seconds: Math.max(0, seconds) };
    });
    const total = used.reduce((sum, u) => sum + u.seconds, 0);
    return used.map((u) => ({ ...u, share: total > 0 ? u.seconds / total : 0, cores: wallS > 0 ? u.seconds / wallS : 0 }));
  }

  private sample(): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const [role, pids] of this.roles) out.set(role, new Map(pids().map((pid) => [pid, cpuSecondsOf(pid)])));
    return out;
  }
}
