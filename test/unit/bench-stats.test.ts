import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../bench/args.js';
import { distribute, split } from '../../bench/load/raw-load.js';
import { parseStatus } from '../../bench/rss.js';
import {
  connectionsFor,
  formatMs,
  formatSeconds,
  LatencyRecorder,
  parseDuration,
  percentile,
  RouteRecorder,
  slope,
  summarize,
  totalsOf,
} from '../../bench/stats.js';

describe('bench stats', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('summarizes unsorted latencies', () => {
    const s = summarize([5, 1, 3, 2, 4]);
    expect(s).toEqual({ count: 5, mean: 3, p50: 3, p90: 5, p99: 5, max: 5 });
    expect(summarize([]).count).toBe(0);
  });

  it('grows its buffer without losing values', () => {
    const r = new LatencyRecorder();
    for (let i = 0; i < 5000; i++) r.push(i);
    expect(r.length).toBe(5000);
    expect(r.summary().max).toBe(4999);
    expect(r.summary().p50).toBe(2499);
  });

  it('counts per route and adds routes up into totals', () => {
    const create = new RouteRecorder('create');
    const get = new RouteRecorder('get');
    create.response(202, 10);
    create.response(503, 30);
    create.failure(true);
    get.response(200, 2);
    get.response(200, 4);
    const routes = [create.stats(2), get.stats(2)];
    expect(routes[0]).toMatchObject({ responses: 2, ok: 1, non2xx: 1, errors: 1, timeouts: 1, rps: 0.5 });
    const totals = totalsOf(routes, [10, 30, 2, 4], 2, { resets: 3 });
    expect(totals).toMatchObject({ attempts: 5, ok: 3, non2xx: 1, errors: 1, timeouts: 1, resets: 3, writeRps: 0.5, readRps: 1 });
    expect(totals.successRate).toBeCloseTo(0.6);
    expect(totals.latency.max).toBe(30);
  });

  it('counts errors no route claimed', () => {
    const totals = totalsOf([new RouteRecorder('put').stats(1)], [], 1, { errors: 4, timeouts: 2, resets: 0 });
    expect(totals).toMatchObject({ attempts: 4, errors: 4, timeouts: 2, successRate: 0 });
  });

  it('fits a slope', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2);
    expect(slope([[0, 4], [5, 4], [10, 4]])).toBe(0);
    expect(slope([[0, 1]])).toBe(0);
  });

  it('parses and formats durations', () => {
    expect(parseDuration('60')).toBe(60);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration(' 1H30M ')).toBe(5400);
    expect(parseDuration('2.5')).toBe(2.5);
    expect(() => parseDuration('30s1m')).toThrow(/invalid duration/);
    expect(() => parseDuration('ten minutes')).toThrow(/invalid duration/);
    expect(() => parseDuration('10x')).toThrow();
    expect(formatSeconds(0.25)).toBe('250 ms');
    expect(formatSeconds(42)).toBe('42.0 s');
    expect(formatSeconds(605)).toBe('10m 05s');
    expect(formatSeconds(419.6)).toBe('7m 00s');
    expect(formatMs(1.234)).toBe('1.23 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });
});

describe('bench command line', () => {
  it('defaults to seed-mix for 60 s at 50 connections with ceilings', () => {
    const o = parseArgs([], '/out');
    expect(o).toMatchObject({ scenario: 'seed-mix', durationS: 60, connections: 50, ceilings: true, outDir: '/out' });
  });

  it('reads a scenario and options', () => {
    const o = parseArgs(['seed-mix', '--duration', '10m', '--connections=20', '--no-ceilings', '--open-rates', '0.5'], '/out');
    expect(o).toMatchObject({ scenario: 'seed-mix', durationS: 600, connections: 20, ceilings: false, openLoopFractions: [0.5] });
    expect(parseArgs(['tune', '--warmup', '0'], '/out')).toMatchObject({ scenario: 'tune', warmupS: 0 });
    expect(parseArgs(['--help'], '/out')).toBe('help');
    expect(parseArgs(['--connections', '5', '-h'], '/out')).toBe('help');
    // Repeatable ones add up.
    const tuned = parseArgs(['--sqlite-pragma', 'synchronous=NORMAL', '--sqlite-pragma=journal_mode=delete', '--dynamic-config', 'a.b=4', '--dynamic-config', 'c=true'], '/out');
    expect(tuned).toMatchObject({ sqlitePragmas: { synchronous: 'normal', journal_mode: 'delete' }, dynamicConfig: { 'a.b': 4, c: true } });
  });

  it('gives a long run a drain timeout that grows with it, unless one is given', () => {
    expect(parseArgs([], '/out')).toMatchObject({ drainTimeoutS: 300 });
    expect(parseArgs(['--duration', '10m'], '/out')).toMatchObject({ drainTimeoutS: 1220 });
    expect(parseArgs(['--duration', '10m', '--drain-timeout', '1m'], '/out')).toMatchObject({ drainTimeoutS: 60 });
  });

  it('refuses what it does not know', () => {
    expect(() => parseArgs(['nonsense'], '/out')).toThrow(UsageError);
    expect(() => parseArgs(['--connections', '0'], '/out')).toThrow(/positive integer/);
    expect(() => parseArgs(['--duration'], '/out')).toThrow(/needs a value/);
    expect(() => parseArgs(['--frobnicate'], '/out')).toThrow(/unknown option/);
    expect(() => parseArgs(['tune', 'scale'], '/out')).toThrow(/one scenario/);
  });
});

describe('bench load split', () => {
  it('spreads a rate like autocannon does', () => {
    expect(distribute(17, 5)).toEqual([4, 4, 3, 3, 3]);
    expect(distribute(3, 5)).toEqual([1, 1, 1, 0, 0]);
    expect(split(50, 2)).toEqual([25, 25]);
    expect(split(1, 2)).toEqual([1]);
    expect(connectionsFor(50)).toBe(50);
    expect(connectionsFor(50, 400)).toBe(50);
    expect(connectionsFor(50, 5.4)).toBe(5);
    expect(connectionsFor(50, 0.2)).toBe(1);
  });
});

describe('bench rss', () => {
  it('reads VmHWM, VmRSS and PPid from /proc status text', () => {
    const text = 'Name:\tnode\nPPid:\t42\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n';
    expect(parseStatus(text)).toEqual({ hwmKb: 123456, rssKb: 100000, ppid: 42 });
    expect(parseStatus('Name:\tkthread\n')).toEqual({ hwmKb: undefined, rssKb: undefined, ppid: undefined });
  });
});
