import { readFileSync } from 'node:fs';
import { CpuMeter } from '../cpu.js';
import { descendants, peakMbOf } from '../rss.js';

// What each part of an A/B side's stack spent: CPU seconds over the load and its drain, and
// the peak resident memory of its largest process. A side is a black box (its own
// `scripts/stack.js`), so its processes are told apart by their command lines.

export const SIDE_ROLES = ['temporal', 'api', 'worker'] as const;
export type SideRole = (typeof SIDE_ROLES)[number];

const ROLE_PATTERNS: Record<SideRole, RegExp> = {
  temporal: /(^|\/)temporal\0server\0start-dev\0/,
  api: /\/src\/api\/server\.js\0/,
  worker: /\/worker\/main\.js\0/,
};

/** The role of a process by its /proc cmdline (arguments separated by NUL), if it has one. */
export function roleOfCmdline(cmdline: string): SideRole | undefined {
  return SIDE_ROLES.find((role) => ROLE_PATTERNS[role].test(cmdline.endsWith('\0') ? cmdline : `${cmdline}\0`));
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export interface SideUsage {
  /** CPU seconds per role between start() and stop(). */
  cpuSeconds: Record<SideRole, number>;
  /** VmHWM of the role's largest process at stop(), in MB. */
  peakRssMb: Record<SideRole, number>;
}

/** Measures a side's stack (the process group under `rootPid`) by role. */
export class SideUsageMeter {
  private readonly cpu = new CpuMeter();

  constructor(private readonly rootPid: number) {
    for (const role of SIDE_ROLES) this.cpu.role(role, () => this.pidsOf(role));
  }

  start(): void {
    this.cpu.start();
  }

  stop(): SideUsage {
    const shares = this.cpu.stop();
    const cpuSeconds = {} as Record<SideRole, number>;
    const peakRssMb = {} as Record<SideRole, number>;
    for (const role of SIDE_ROLES) {
      cpuSeconds[role] = shares.find((s) => s.role === role)?.seconds ?? 0;
      peakRssMb[role] = Math.max(0, ...this.pidsOf(role).map((pid) => peakMbOf(pid) ?? 0));
    }
    return { cpuSeconds, peakRssMb };
  }

  private pidsOf(role: SideRole): number[] {
    return descendants(this.rootPid).filter((pid) => roleOfCmdline(cmdlineOf(pid)) === role);
  }
}
