import { parseArgs } from 'node:util';
import { parseArgsMessage } from '../parse-args-error.js';
import { startCrmSimulator } from './crm-simulator.js';
import { startHubSpotSimulator } from './hubspot/simulator.js';
import { startSalesforceSimulator } from './salesforce/salesforce-simulator.js';
import { startSmtpSink } from './smtp-sink.js';

/**
 * Runs one simulator from the command line:
 *   node dist/tooling/simulators/main.js crm|hubspot|salesforce|smtp
 * crm:  CRM_SIM_HOST (127.0.0.1), CRM_SIM_PORT (4010), CRM_SIM_RATE_LIMIT (0 = off)
 * hubspot: CRM_SIM_HOST, CRM_SIM_PORT; HUBSPOT_SIM_TOKEN, HUBSPOT_SIM_PER_10S (100; 0 = off),
 *       HUBSPOT_SIM_DAILY (250000); HUBSPOT_SIM_WEBHOOK_URL + HUBSPOT_SIM_CLIENT_SECRET: a rep's
 *       edit (PATCH) is posted there as a signed contact.propertyChange webhook
 * salesforce: CRM_SIM_HOST, CRM_SIM_PORT; SALESFORCE_SIM_CLIENT_ID, SALESFORCE_SIM_CLIENT_SECRET,
 *       SALESFORCE_SIM_DAILY (100000); SALESFORCE_SIM_CALLOUT_URL + SALESFORCE_SIM_CALLOUT_SECRET:
 *       a rep's edit is posted there as a signed change notice (the Flow callout)
 * smtp: SMTP_SINK_HOST (127.0.0.1), SMTP_SINK_PORT (2525), SMTP_SINK_HTTP_PORT (8025);
 *       SMTP_SINK_BOUNCE, SMTP_SINK_COMPLAIN (comma-separated addresses whose messages bounce or
 *       draw a complaint), posted signed to SMTP_SINK_EVENTS_URL under SMTP_SINK_EVENTS_SECRET
 */

interface Running {
  close(): Promise<void>;
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

function envString(name: string, fallback: string): string {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

function envList(name: string): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isAddressInUse(error: unknown): error is { code: string; port?: number } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EADDRINUSE';
}

async function startCrm(): Promise<Running> {
  const host = envString('CRM_SIM_HOST', '127.0.0.1');
  const port = envInt('CRM_SIM_PORT', 4010);
  try {
    const sim = await startCrmSimulator({ host, port, rateLimitPerSecond: envInt('CRM_SIM_RATE_LIMIT', 0) });
    console.log(`crm-simulator listening on ${sim.url}`);
    return sim;
  } catch (error) {
    if (isAddressInUse(error)) throw new Error(`port ${port} is already in use (set CRM_SIM_PORT)`);
    throw error;
  }
}

/** The address of a CRM simulator (any dialect), and what to say when its port is taken. */
async function listeningCrm<T extends Running & { url: string }>(name: string, start: (host: string, port: number) => Promise<T>): Promise<T> {
  const host = envString('CRM_SIM_HOST', '127.0.0.1');
  const port = envInt('CRM_SIM_PORT', 4010);
  try {
    const sim = await start(host, port);
    console.log(`${name} listening on ${sim.url}`);
    return sim;
  } catch (error) {
    if (isAddressInUse(error)) throw new Error(`port ${port} is already in use (set CRM_SIM_PORT)`);
    throw error;
  }
}

function startHubSpot(): Promise<Running> {
  const webhookUrl = envString('HUBSPOT_SIM_WEBHOOK_URL', '');
  const perWindow = envInt('HUBSPOT_SIM_PER_10S', 100);
  return listeningCrm('hubspot-simulator', (host, port) =>
    startHubSpotSimulator({
      host,
      port,
      accessToken: envString('HUBSPOT_SIM_TOKEN', 'pat-local-simulator'),
      // 0 turns the rolling limit off (a bench's "no CRM limit" run).
      limits: { perWindow: perWindow === 0 ? Number.MAX_SAFE_INTEGER : perWindow, daily: envInt('HUBSPOT_SIM_DAILY', 250_000) },
      ...(webhookUrl ? { webhooks: { targetUrl: webhookUrl, clientSecret: envString('HUBSPOT_SIM_CLIENT_SECRET', ''), appId: 4242 } } : {}),
    }),
  );
}

function startSalesforce(): Promise<Running> {
  const calloutUrl = envString('SALESFORCE_SIM_CALLOUT_URL', '');
  return listeningCrm('salesforce-simulator', (host, port) =>
    startSalesforceSimulator({
      host,
      port,
      clientId: envString('SALESFORCE_SIM_CLIENT_ID', 'sim-client-id'),
      clientSecret: envString('SALESFORCE_SIM_CLIENT_SECRET', 'sim-client-secret'),
      dailyApiLimit: envInt('SALESFORCE_SIM_DAILY', 100_000),
      ...(calloutUrl ? { flowCallout: { targetUrl: calloutUrl, secret: envString('SALESFORCE_SIM_CALLOUT_SECRET', '') } } : {}),
    }),
  );
}

async function startSmtp(): Promise<Running> {
  const host = envString('SMTP_SINK_HOST', '127.0.0.1');
  const smtpPort = envInt('SMTP_SINK_PORT', 2525);
  const httpPort = envInt('SMTP_SINK_HTTP_PORT', 8025);
  try {
    const events = {
      url: process.env.SMTP_SINK_EVENTS_URL?.trim() || undefined,
      secret: process.env.SMTP_SINK_EVENTS_SECRET?.trim() || undefined,
      bounce: envList('SMTP_SINK_BOUNCE'),
      complain: envList('SMTP_SINK_COMPLAIN'),
    };
    const sink = await startSmtpSink({ host, smtpPort, httpPort, events });
    console.log(`smtp-sink listening on smtp://${host}:${sink.smtpPort} (messages at ${sink.httpUrl})`);
    return sink;
  } catch (error) {
    if (isAddressInUse(error)) {
      const [port, variable] =
        error.port === httpPort ? [httpPort, 'SMTP_SINK_HTTP_PORT'] : [smtpPort, 'SMTP_SINK_PORT'];
      throw new Error(`port ${port} is already in use (set ${variable})`);
    }
    throw error;
  }
}

// Installed before starting, so a signal that arrives during startup still closes cleanly.
function closeOnSignals(running: Promise<Running>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second signal means "now"
    stopping = true;
    running
      .then((sim) => sim.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`error while stopping after ${signal}:`, error instanceof Error ? error.message : error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const USAGE = 'usage: node dist/tooling/simulators/main.js crm|hubspot|salesforce|smtp';
const STARTERS: Record<string, () => Promise<Running>> = { crm: startCrm, hubspot: startHubSpot, salesforce: startSalesforce, smtp: startSmtp };

/** The simulator the command line names; exits with the usage on --help (0) or anything else (2). */
function chosenStarter(): () => Promise<Running> {
  let parsed;
  try {
    parsed = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${parseArgsMessage(error)}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [which, ...extra] = parsed.positionals;
  const start = which === undefined || extra.length > 0 || !Object.hasOwn(STARTERS, which) ? undefined : STARTERS[which];
  if (!start) {
    console.error(USAGE);
    process.exit(2);
  }
  return start;
}

async function main(): Promise<void> {
  const running = chosenStarter()();
  closeOnSignals(running);
  await running;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
