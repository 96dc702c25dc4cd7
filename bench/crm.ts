import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchStack, type BenchStack } from './bench-stack.js';
import { cleanupAll } from './cleanup.js';
import { describeMachine, gitInfo, loadAverage } from './machine.js';
import { formatSeconds, parseDuration } from './stats.js';

// `npm run bench -- crm [--leads N] [--vendors hubspot,salesforce]`: the vendor connectors
// against their simulators at the vendors' default limits. Each lead is created and then
// changed once (2 lead writes), over the API by 50 concurrent clients; a run ends when the
// CRM holds every lead at its second version. Per vendor, the same load runs batched, one
// record per request, and (HubSpot) batched with no CRM limit at all, each on a fresh stack.

export const CRM_USAGE = `usage: npm run bench -- crm [--leads N] [--vendors hubspot,salesforce] [--crm-latency D [--latency-only]] [--out DIR]
  --leads N         leads per run, each created and changed once (default 500)
  --vendors LIST    which simulators (default hubspot,salesforce)
  --crm-latency D   also run each vendor's batched variant with the simulator answering every
                    request after D (e.g. 7500ms, the middle of the old design's 5-10 s CRM), and
                    judge it against the same variant answering at once (issue #24: >= 0.9x)
  --latency-only    with --crm-latency: only each vendor's batched variant and its slow twin`;

interface Variant {
  name: string;
  vendor: 'hubspot' | 'salesforce';
  env: Record<string, string>;
  /** The simulator answers every API request after this long (its /_sim/faults latency). */
  latencyMs?: number;
  /** The variant this one is judged against: the same settings, the CRM answering at once. */
  baseline?: string;
}

interface VariantResult {
  variant: string;
  vendor: string;
  leads: number;
  writes: number;
  seconds: number;
  leadsPerSecond: number;
  writesPerSecond: number;
  crmRequests: number;
  requestsPerWrite: number;
  rateLimited: number;
  maxPerWindow?: number | undefined;
}

const CONCURRENCY = 50;

function variants(vendors: string[], latencyMs: number | undefined, latencyOnly = false): Variant[] {
  const out: Variant[] = [];
  const slow = (of: Variant): Variant => ({
    name: `${of.name}, CRM answering after ${formatSeconds(latencyMs! / 1000)}`,
    vendor: of.vendor,
    // A request may take the latency and still its usual time on top.
    env: { ...of.env, CRM_TIMEOUT_MS: String(latencyMs! + 10_000) },
    latencyMs,
    baseline: of.name,
  });
  if (vendors.includes('hubspot')) {
    // HubSpot Free/Starter: 100 requests per rolling 10 s, the simulator and the workers alike.
    const limited = { CRM_ADAPTER: 'hubspot', HUBSPOT_SIM_PER_10S: '100', HUBSPOT_REQUESTS_PER_10S: '100' };
    const batched: Variant = { name: 'hubspot 100/10 s, batched', vendor: 'hubspot', env: limited };
    if (latencyOnly) out.push(batched);
    else {
      out.push(
        { name: 'hubspot, no CRM limit', vendor: 'hubspot', env: { CRM_ADAPTER: 'hubspot', HUBSPOT_SIM_PER_10S: '0', HUBSPOT_REQUESTS_PER_10S: '10000' } },
        batched,
        { name: 'hubspot 100/10 s, one record per request', vendor: 'hubspot', env: { ...limited, CRM_BATCH_MAX_RECORDS: '1' } },
      );
    }
    if (latencyMs) out.push(slow(batched));
  }
  if (vendors.includes('salesforce')) {
    const batched: Variant = { name: 'salesforce, batched', vendor: 'salesforce', env: { CRM_ADAPTER: 'salesforce' } };
    out.push(batched);
    if (!latencyOnly) out.push({ name: 'salesforce, one record per request', vendor: 'salesforce', env: { CRM_ADAPTER: 'salesforce', CRM_BATCH_MAX_RECORDS: '1' } });
    if (latencyMs) out.push(slow(batched));
  }
  return out;
}

/** The CRM batching settings this run took from the environment, as a command prefix. */
function batchEnv(): string {
  return Object.entries(process.env)
    .filter(([k]) => k.startsWith('CRM_BATCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function send(url: string, method: string, body: unknown): Promise<{ id: string }> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status === 202) return (await res.json()) as { id: string };
    if (attempt >= 5 || res.status < 500) throw new Error(`${method} ${url} answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** Leads the simulator holds at version `version` or later. */
async function syncedCount(stack: BenchStack, vendor: Variant['vendor'], version: number): Promise<number> {
  const crm = stack.config.CRM_BASE_URL;
  if (vendor === 'hubspot') {
    const { contacts } = (await (await fetch(`${crm}/_sim/contacts`)).json()) as { contacts: Array<{ properties: Record<string, string> }> };
    return contacts.filter((c) => Number(c.properties.ao_version) >= version).length;
  }
  const { leads } = (await (await fetch(`${crm}/_sim/leads`)).json()) as { leads: Array<{ AO_Version__c?: number }> };
  return leads.filter((l) => (l.AO_Version__c ?? 0) >= version).length;
}

async function crmStats(stack: BenchStack): Promise<{ requests: number; rateLimited: number; maxPerWindow?: number }> {
  const stats = (await (await fetch(`${stack.config.CRM_BASE_URL}/_sim/stats`)).json()) as {
    requests: number;
    rateLimited?: number;
    byStatus?: Record<string, number>;
    maxPerWindow?: number;
  };
  return { requests: stats.requests, rateLimited: stats.rateLimited ?? stats.byStatus?.['429'] ?? 0, ...(stats.maxPerWindow ? { maxPerWindow: stats.maxPerWindow } : {}) };
}

async function runVariant(variant: Variant, leads: number, say: (line: string) => void): Promise<VariantResult> {
  say(`${variant.name}: starting a stack …`);
  const stack = await startBenchStack({ apiProcesses: 1, workerProcesses: 1, env: variant.env });
  try {
    if (variant.latencyMs) await setLatency(stack.config.CRM_BASE_URL, variant.latencyMs);
    const api = `${stack.apiUrl}/api/leads`;
    const tag = Date.now().toString(36);
    const started = Date.now();
    await pool(
      Array.from({ length: leads }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const { id } = await send(api, 'POST', { email: `crm-bench-${tag}-${i}@example.com`, last_name: 'Bench', company: 'Bench Ltd', stage: 'new' });
        await send(`${api}/${id}`, 'PATCH', { stage: 'contacted' });
      },
    );
    say(`${variant.name}: ${2 * leads} writes accepted in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the CRM to hold every lead at version 2 …`);
    let synced = 0;
    for (let lastSay = Date.now(); synced < leads; ) {
      await new Promise((r) => setTimeout(r, 250));
      synced = await syncedCount(stack, variant.vendor, 2);
      if (Date.now() - lastSay > 10_000) {
        say(`${variant.name}: ${synced}/${leads} synced after ${((Date.now() - started) / 1000).toFixed(0)} s`);
        lastSay = Date.now();
      }
      if (stack.fatal) throw new Error(stack.fatal);
    }
    const seconds = (Date.now() - started) / 1000;
    const stats = await crmStats(stack);
    const writes = 2 * leads;
    return {
      variant: variant.name,
      vendor: variant.vendor,
      leads,
      writes,
      seconds,
      leadsPerSecond: leads / seconds,
      writesPerSecond: writes / seconds,
      crmRequests: stats.requests,
      requestsPerWrite: stats.requests / writes,
      rateLimited: stats.rateLimited,
      maxPerWindow: stats.maxPerWindow,
    };
  } finally {
    await stack.stop();
  }
}

async function setLatency(crmUrl: string, latencyMs: number): Promise<void> {
  const res = await fetch(`${crmUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs }) });
  if (!res.ok) throw new Error(`the CRM simulator refused the latency: ${res.status} ${await res.text()}`);
}

function table(results: VariantResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.variant} | ${r.leads} | ${r.seconds.toFixed(1)} | ${r.leadsPerSecond.toFixed(1)} | ${r.writesPerSecond.toFixed(1)} | ${r.crmRequests} | ${r.requestsPerWrite.toFixed(3)} | ${r.rateLimited} | ${r.maxPerWindow ?? '—'} |`,
  );
  return [
    '| run | leads | s to synced | leads/s | lead writes/s | CRM requests | requests per write | 429s | most requests in 10 s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The issue's targets, from the figures: each a line with its measured value and verdict. */
function verdicts(results: VariantResult[], ran: readonly Variant[]): string[] {
  const find = (name: string) => results.find((r) => r.variant === name);
  const out: string[] = [];
  for (const variant of ran) {
    const slow = find(variant.name);
    const base = variant.baseline ? find(variant.baseline) : undefined;
    if (!slow || !base) continue;
    const ratio = slow.leadsPerSecond / base.leadsPerSecond;
    out.push(`${variant.name}: ${ratio.toFixed(2)}× the same run with the CRM answering at once (target ≥ 0.9×): ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
  }
  const free = find('hubspot, no CRM limit');
  const batched = find('hubspot 100/10 s, batched');
  const single = find('hubspot 100/10 s, one record per request');
  if (free && batched) {
    const ratio = batched.leadsPerSecond / free.leadsPerSecond;
    out.push(`HubSpot at 100/10 s, batched: ${ratio.toFixed(2)}× the run with no CRM limit (target ≥ 0.9×): ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
  }
  if (batched) {
    out.push(`HubSpot CRM requests per lead write: ${batched.requestsPerWrite.toFixed(3)} (target ≤ 0.05): ${batched.requestsPerWrite <= 0.05 ? 'met' : 'NOT met'}`);
  }
  if (batched && single) {
    const lasts = single.requestsPerWrite / batched.requestsPerWrite;
    out.push(`HubSpot daily cap lasts ${lasts.toFixed(0)}× longer batched than one record per request (target ≥ 20×): ${lasts >= 20 ? 'met' : 'NOT met'}`);
  }
  const sfBatched = find('salesforce, batched');
  const sfSingle = find('salesforce, one record per request');
  if (sfBatched && sfSingle) {
    const lasts = sfSingle.requestsPerWrite / sfBatched.requestsPerWrite;
    out.push(`Salesforce daily allowance lasts ${lasts.toFixed(0)}× longer batched (${sfBatched.requestsPerWrite.toFixed(3)} requests per write; target ≥ 20×): ${lasts >= 20 ? 'met' : 'NOT met'}`);
  }
  return out;
}

export async function runCrmBench(argv: string[], root: string): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { leads: { type: 'string' }, vendors: { type: 'string' }, 'crm-latency': { type: 'string' }, 'latency-only': { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${CRM_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(CRM_USAGE);
    return 0;
  }
  const leads = Number(values.leads ?? 500);
  if (!Number.isInteger(leads) || leads < 1) {
    console.error(`--leads takes a positive integer, got ${values.leads}\n\n${CRM_USAGE}`);
    return 2;
  }
  let latencyMs: number | undefined;
  try {
    latencyMs = values['crm-latency'] === undefined ? undefined : Math.round(parseDuration(values['crm-latency']) * 1000);
  } catch (err) {
    console.error(`--crm-latency: ${(err as Error).message}\n\n${CRM_USAGE}`);
    return 2;
  }
  const vendors = (values.vendors ?? 'hubspot,salesforce').split(',').map((v) => v.trim());
  if (values['latency-only'] && !latencyMs) {
    console.error(`--latency-only needs --crm-latency\n\n${CRM_USAGE}`);
    return 2;
  }
  const ran = variants(vendors, latencyMs, values['latency-only']);
  const say = (line: string) => console.log(`[crm bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const machine = describeMachine();
  const git = gitInfo(root);
  const loadStart = loadAverage();
  const results: VariantResult[] = [];
  try {
    for (const variant of ran) {
      const result = await runVariant(variant, leads, say);
      say(`${variant.name}: ${result.leadsPerSecond.toFixed(1)} leads/s, ${result.requestsPerWrite.toFixed(3)} CRM requests per lead write, ${result.rateLimited} 429s`);
      results.push(result);
    }
  } finally {
    await cleanupAll();
  }
  const lines = verdicts(results, ran);
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    `# CRM connectors bench (${date})`,
    '',
    `Machine: ${JSON.stringify(machine)}; commit ${git.commit}${git.dirty ? ' (dirty)' : ''}; load average at start ${JSON.stringify(loadStart)}, at end ${JSON.stringify(loadAverage())}.`,
    `Command: \`${batchEnv()}npm run bench -- crm --leads ${leads} --vendors ${vendors.join(',')}${latencyMs ? ` --crm-latency ${values['crm-latency']}` : ''}${values['latency-only'] ? ' --latency-only' : ''}\`. Each lead created and changed once over the API (50 clients); "s to synced" ends when the simulator holds every lead at version 2.`,
    '',
    table(results),
    '',
    ...lines.map((l) => `- ${l}`),
    '',
  ].join('\n');
  const outDir = values.out ?? join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${date}-crm.md`), md);
  writeFileSync(join(outDir, `${date}-crm.json`), JSON.stringify({ date, machine, git, leads, results, verdicts: lines }, null, 2));
  console.log(`\n${table(results)}\n\n${lines.join('\n')}\n\nwritten: ${join(outDir, `${date}-crm.md`)}`);
  return 0;
}
