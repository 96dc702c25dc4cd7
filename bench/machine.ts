import { execFileSync } from 'node:child_process';
import { cpus, freemem, hostname, loadavg, platform, release, totalmem } from 'node:os';
import { resolveTemporalBinary } from '../tooling/temporal/binary.js';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGb: number;
  freeMemoryGb: number;
  os: string;
  node: string;
  temporal: string;
  hostname: string;
}

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  let temporal = 'unknown';
  try {
    temporal = run(resolveTemporalBinary(), ['--version'])?.replace(/^temporal version /, '') ?? 'unknown';
  } catch {
    // not installed: the stack will say so
  }
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    memoryGb: totalmem() / 2 ** 30,
    freeMemoryGb: freemem() / 2 ** 30,
    os: `${platform()} ${release()}`,
    node: process.version,
    temporal,
    hostname: hostname(),
  };
}

export function gitInfo(cwd: string): GitInfo {
  const commit = run('git', ['-C', cwd, 'rev-parse', '--short=12', 'HEAD']) ?? 'unknown';
  const status = run('git', ['-C', cwd, 'status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: status !== undefined && status.length > 0 };
}

export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c];
}
