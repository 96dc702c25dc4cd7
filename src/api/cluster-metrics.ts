import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { MetricsOptions } from './metrics.js';

// With API_PROCESSES > 1 a scrape lands on whichever process the kernel picks; each one
// asks the primary, which gathers every process's registry and sums them (prom-client's
// AggregatorRegistry), so /metrics always answers for the whole API.

const ASK = 'ao:metrics-ask';
const ANSWER = 'ao:metrics-answer';

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/**
 * In the primary: answers the API processes' requests with the cluster's summed metrics,
 * followed by the primary's own registry as it is (the watchdog's gauges: one process
 * records them, so there is nothing to sum).
 */
export function serveClusterMetrics(own?: Registry): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== ASK) return;
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => worker.send({ type: ANSWER, id: message.id, ...answer });
    Promise.all([aggregator.clusterMetrics(), own?.metrics() ?? '']).then(([summed, mine]) => (mine ? `${summed.trimEnd()}\n${mine}` : summed)).then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
  });
}

/** In an API process: records in a registry the primary collects, and /metrics asks the primary. */
export function clusterMetricsOptions(): MetricsOptions {
  const registry = new Registry();
  // Constructing one installs prom-client's listener that hands this process's metrics to the primary.
  void new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  process.on('message', (message: Partial<Answer>) => {
    if (message?.type !== ANSWER || message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
  });
  const scrape = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      process.send?.({ type: ASK, id });
    });
  return { registry, scrape };
}
