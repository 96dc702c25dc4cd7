import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { repoRoot, resolveTemporalBinary } from '../temporal/binary.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { launchOnHost, tcpOpen, waitUntil, type HostProcess } from './host-process.js';
import { DATABASE, dynamicConfigYaml, serverConfigYaml } from './server-config.js';
import { POSTGRES_PORT, TEMPORAL_PORTS, frontendAddress, hostNamed, hostsOf, type ClusterTopology, type HostSpec } from './topology.js';

/**
 * The real Temporal server as separate processes (`temporal-server start --service …`),
 * one per test host, built from Go modules by scripts/ensure-temporal-server.mjs, on the
 * PostgreSQL schema its own SQL tool installs.
 */

const run = promisify(execFile);
export const SERVER_VERSION = 'v1.32.1';

export interface ServerBinaries {
  server: string;
  sqlTool: string;
  schemaDir: string;
}

export function serverBinaries(): ServerBinaries {
  const dir = join(repoRoot() ?? process.cwd(), '.tools', 'temporal-server', SERVER_VERSION);
  const found = {
    server: join(dir, 'temporal-server'),
    sqlTool: join(dir, 'temporal-sql-tool'),
    schemaDir: join(dir, 'schema'),
  };
  if (!existsSync(found.server) || !existsSync(found.sqlTool) || !existsSync(found.schemaDir)) {
    throw new Error(`the Temporal server is not built yet (${dir}); run: node scripts/ensure-temporal-server.mjs`);
  }
  return found;
}

/** Creates both databases if needed and brings their schemas to the binary's version (idempotent). */
export async function setUpSchema(topology: ClusterTopology, bin: ServerBinaries): Promise<void> {
  const db = hostNamed(topology, 'db');
  for (const [database, dir] of [
    [DATABASE.main, 'temporal'],
    [DATABASE.visibility, 'visibility'],
  ] as const) {
    const tool = (...args: string[]) =>
      run(bin.sqlTool, ['--plugin', 'postgres12', '--ep', db.address, '-p', String(POSTGRES_PORT), '-u', DATABASE.user, '--pw', DATABASE.password, '--db', database, ...args]);
    await tool('create-database').catch((err: { stderr?: string }) => {
      if (!/already exists/.test(err.stderr ?? '')) throw err;
    });
    const installed = await tool('update-schema', '-d', join(bin.schemaDir, dir, 'versioned'))
      .then(() => true)
      .catch(() => false);
    if (!installed) {
      await tool('setup-schema', '-v', '0.0');
      await tool('update-schema', '-d', join(bin.schemaDir, dir, 'versioned'));
    }
  }
}

export function writeNodeConfigs(topology: ClusterTopology, dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const dynamicConfigFile = join(dir, 'dynamic-config.yaml');
  writeFileSync(dynamicConfigFile, dynamicConfigYaml());
  const files: Record<string, string> = {};
  for (const node of hostsOf(topology, 'temporal')) {
    const file = join(dir, `${node.name}.yaml`);
    writeFileSync(file, serverConfigYaml(topology, node, { dynamicConfigFile }));
    files[node.name] = file;
  }
  return files;
}

export function startNode(node: HostSpec, configFile: string, bin: ServerBinaries, logDir: string): HostProcess {
  const services = node.services ?? [];
  return launchOnHost({
    name: `temporal-${node.name}`,
    host: node,
    command: bin.server,
    args: ['--config-file', configFile, '--allow-no-auth', 'start', ...services.flatMap((s) => ['--service', s])],
    logDir,
  });
}

/** Every service of the node listens on its gRPC port. */
export async function waitForNode(node: HostSpec, process: HostProcess, timeoutMs = 120_000): Promise<void> {
  for (const service of node.services ?? []) {
    await waitUntil(`Temporal ${service} on ${node.name}`, () => tcpOpen(node.address, TEMPORAL_PORTS[service].grpc), timeoutMs, process);
  }
}

/** The `default` namespace and the lead search attributes, through the frontend (idempotent). */
export async function prepareNamespace(topology: ClusterTopology, namespace: string, timeoutMs = 120_000): Promise<void> {
  const connection = await Connection.connect({ address: frontendAddress(topology), connectTimeout: 10_000 });
  try {
    await waitUntil(
      `namespace ${namespace}`,
      async () => {
        // The CLI takes the retention as a duration; the gRPC request would want a protobuf Long.
        await run(resolveTemporalBinary(), ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', '72h', '--address', frontendAddress(topology)])
          .catch((err: { stderr?: string }) => {
            if (!/already (exists|registered)/i.test(err.stderr ?? '')) throw err;
          });
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      },
      timeoutMs,
    );
    await ensureSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}
