import { readdirSync, readFileSync } from 'node:fs';

// Peak resident memory per process, from /proc/<pid>/status (VmHWM: the high-water mark of
// the resident set since the process started). Linux only; elsewhere nothing is reported.

export function parseStatus(text: string): { hwmKb?: number; rssKb?: number; ppid?: number } {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { hwmKb: field('VmHWM'), rssKb: field('VmRSS'), ppid: field('PPid') };
}

function readStatus(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (the API's cluster processes, for one). */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const status = readStatus(Number(entry));
    const ppid = status ? parseStatus(status).ppid : undefined;
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/** VmHWM of one process in MB, if it is still running. */
export function peakMbOf(pid: number): number | undefined {
  const status = readStatus(pid);
  const hwm = status ? parseStatus(status).hwmKb : undefined;
  return hwm === undefined ? undefined : hwm / 1024;
}

export interface RssEntry {
  role: string;
  /** Processes seen in this role over the run (restarts and cluster children included). */
  processes: number;
  /** Highest VmHWM of any one process of the role, in MB. */
  peakMb: number;
  /** Sum of the per-process peaks, in MB (what the role as a whole held at most). */
  totalPeakMb: number;
}

interface Tracked {
  role: string;
  pid: () => number | undefined;
  children: boolean;
}

export class RssTracker {
  private readonly tracked: Tracked[] = [];
  private readonly peaks = new Map<string, Map<number, number>>();

  /** Follows a process (and with `children`, its descendants) under a role name. */
  track(role: string, pid: () => number | undefined, opts: { children?: boolean } = {}): void {
    this.tracked.push({ role, pid, children: opts.children ?? false });
    if (!this.peaks.has(role)) this.peaks.set(role, new Map());
  }

  sample(): void {
    for (const t of this.tracked) {
      const root = t.pid();
      if (root === undefined) continue;
      const pids = [root, ...(t.children ? descendants(root) : [])];
      const peaks = this.peaks.get(t.role)!;
      for (const pid of pids) {
        const status = readStatus(pid);
        const hwm = status ? parseStatus(status).hwmKb : undefined;
        if (hwm === undefined) continue;
        peaks.set(pid, Math.max(peaks.get(pid) ?? 0, hwm));
      }
    }
  }

  /** Resident memory now (VmRSS) per role: its largest live process, in MB. */
  current(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tracked) {
      const root = t.pid();
      if (root === undefined) continue;
      for (const pid of [root, ...(t.children ? descendants(root) : [])]) {
        const status = readStatus(pid);
        const rss = status ? parseStatus(status).rssKb : undefined;
        if (rss !== undefined) out[t.role] = Math.max(out[t.role] ?? 0, rss / 1024);
      }
    }
    return out;
  }

  summary(): RssEntry[] {
    const out: RssEntry[] = [];
    for (const [role, peaks] of this.peaks) {
      if (peaks.size === 0) continue;
      const values = [...peaks.values()];
      out.push({
        role,
        processes: peaks.size,
        peakMb: Math.max(...values) / 1024,
        totalPeakMb: values.reduce((a, b) => a + b, 0) / 1024,
      });
    }
    return out;
  }
}
