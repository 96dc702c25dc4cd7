import { loadConfigOrExit } from '../src/env-file.js';
import { StartupError } from '../tooling/stack/supervisor.js';
import { startStack } from '../tooling/stack/stack.js';

// `npm start`: brings the whole stack up on this machine and keeps it running until Ctrl-C.

const config = loadConfigOrExit();

/** What `npm start` runs in the CRM's place, and where to look at what it holds. */
const SIMULATED = {
  rest: 'simulator: /_sim/contacts',
  hubspot: 'HubSpot simulator: /_sim/contacts',
  salesforce: 'Salesforce simulator: /_sim/leads',
} as const;

const started = Date.now();
let stopping = false;
let stack: Awaited<ReturnType<typeof startStack>> | undefined;

const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the stack …');
  await stack?.stop();
  console.log('stopped.');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  stack = await startStack(config, {
    onFatal: (message) => {
      console.error(`\n${message}: stopping everything.`);
      void shutdown(1);
    },
  });
} catch (err) {
  console.error(`\nthe stack could not start: ${err instanceof StartupError ? err.message : (err as Error).stack}`);
  process.exit(1);
}

const metrics = stack.metricsUrls;
const lines = [
  '',
  `Automation Orchestrator is up (${((Date.now() - started) / 1000).toFixed(1)} s):`,
  `  API             ${stack.apiUrl}   (docs: ${stack.apiUrl}/docs)`,
  `  Status page     ${stack.consoleUrl}   (operations listener: /metrics, /ready, /codec)`,
  `  Temporal        ${stack.temporalAddress}${stack.uiUrl ? `   Web UI: ${stack.uiUrl}` : ''}`,
  `  CRM             ${stack.crmUrl}${config.CRM_START_SIMULATOR ? `   (local ${SIMULATED[config.CRM_ADAPTER]})` : ''}`,
  `  SMTP            ${config.SMTP_HOST}:${config.SMTP_PORT}${stack.smtpMessagesUrl ? `   (local sink: ${stack.smtpMessagesUrl})` : ''}`,
  `  API processes   ${config.API_PROCESSES}, worker processes ${config.WORKER_PROCESSES}`,
  `  Metrics         API ${metrics.api}`,
  ...metrics.workers.map((url, i) => `                  worker${metrics.workers.length > 1 ? i + 1 : ''} ${url}`),
  ...(metrics.temporal ? [`                  Temporal ${metrics.temporal}`] : []),
  '',
  'Try:',
  `  curl -s -X POST ${stack.apiUrl}/api/leads -H 'content-type: application/json' -d '{"email":"ada@example.com","first_name":"Ada"}'`,
  `  curl -N ${stack.apiUrl}/api/tasks/<task_id from the answer>/events      # its progress, live`,
  '',
  'Press Ctrl-C to stop everything.',
  '',
];
console.log(lines.join('\n'));
