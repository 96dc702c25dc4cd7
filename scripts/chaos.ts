import { writeFileSync } from 'node:fs';
import { parseChaosArgs, replayCommand, UsageError } from '../tooling/chaos/options.js';
import { totalLine } from '../tooling/chaos/report.js';
import { killActiveStackNow, runChaos, stopActiveStack } from '../tooling/chaos/run.js';
import { prefixer } from '../tooling/stack/supervisor.js';

// `npm run chaos [-- flags]`: the fault-injection suite (see src/chaos/). Exit code 0 when
// every invariant held, 1 when one broke, 2 on a usage error.

let options;
try {
  options = parseChaosArgs(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(2);
}

const say = prefixer('chaos');
let interrupted = false;
const result = runChaos(options, say);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first signal stops the stack in order; a second one SIGKILLs it and leaves at once.
    if (interrupted) {
      killActiveStackNow();
      process.exit(130);
    }
    interrupted = true;
    say(`${signal}: stopping the stack …`);
    void stopActiveStack().finally(() => process.exit(130));
  });
}

const done = await result;
if (options.out) writeFileSync(options.out, `${JSON.stringify(done, null, 2)}\n`);
console.log('');
for (const scenario of done.scenarios) {
  const failed = scenario.checks.filter((c) => !c.ok).map((c) => c.name);
  console.log(`${scenario.scenario.padEnd(14)} ${failed.length ? `FAIL (${failed.join('; ')})` : 'ok  '}`);
}
console.log(totalLine(done));
if (done.ok) {
  console.log(`chaos: all invariants held (seed ${done.seed}, ${(done.durationMs / 1000).toFixed(0)} s)`);
} else {
  console.log(`chaos: FAILED${done.error ? `: ${done.error}` : ''} (seed ${done.seed}; data kept in ${done.dataDir})`);
  console.log(`chaos: replay with: ${replayCommand(process.argv.slice(2), done.seed)}`);
}
process.exit(done.ok ? 0 : 1);
