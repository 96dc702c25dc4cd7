// Everything a benchmark starts registers how to stop it here, so Ctrl-C, a failure or a
// normal end all leave nothing running.

type Disposer = () => Promise<void>;

const disposers = new Set<{ name: string; fn: Disposer }>();

/** Registers a disposer; the returned function unregisters it (after a normal stop). */
export function onCleanup(name: string, fn: Disposer): () => void {
  const entry = { name, fn };
  disposers.add(entry);
  return () => disposers.delete(entry);
}

/** Runs every registered disposer, newest first; errors are reported, not thrown. */
export async function cleanupAll(): Promise<void> {
  const entries = [...disposers].reverse();
  disposers.clear();
  for (const entry of entries) {
    try {
      await entry.fn();
    } catch (err) {
      console.error(`bench: stopping ${entry.name} failed: ${(err as Error).message}`);
    }
  }
}

let installed = false;

/**
 * Ctrl-C or SIGTERM: `beforeCleanup` runs first (the benchmark writes what it measured so
 * far), then everything registered is stopped.
 */
export function installSignalHandlers(beforeCleanup?: (signal: NodeJS.Signals) => void): void {
  if (installed) return;
  installed = true;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      console.error('bench: second signal, exiting now');
      process.exit(130);
    }
    signalled = true;
    console.error(`\nbench: ${signal}: stopping everything it started …`);
    try {
      beforeCleanup?.(signal);
    } catch (err) {
      console.error(`bench: could not write the partial report: ${(err as Error).message}`);
    }
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
