/** one line of the exposition, as prom-client's metrics give them to its Registry */
interface Value {
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  name: string;
  help: string;
  type: 'counter';
  values: Value[];
  aggregator: 'sum';
}

/**
 * A counter with one label (`pkim_ocsp_responses_total{status}`), kept by the server itself and registered in the
 * prom-client registry as a custom metric, as the request histogram is: prom-client's `Counter.inc` validates and
 * hashes its label object on every call (every OCSP answer); here a series is one map entry found by its label
 * value. Counted from the first call (nothing to queue before prom-client loads); the scrape output is prom-client's
 * own for the same calls (server-metrics.test.ts compares them).
 */
export interface LabelCounter {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter';
  readonly aggregator: 'sum';
  inc(labelValue: string): void;
  /** what prom-client's Registry reads (text exposition, JSON) */
  get(): Promise<Exposition>;
  getForPromString(): Promise<Exposition>;
  reset(): void;
}

export function createLabelCounter(opts: { name: string; help: string; label: string }): LabelCounter {
  let counts = new Map<string, number>();
  const values = async (): Promise<Exposition> => ({
    name: opts.name,
    help: opts.help,
    type: 'counter',
    values: [...counts].map(([v, value]) => ({ labels: { [opts.label]: v }, value })),
    aggregator: 'sum',
  });
  return {
    name: opts.name,
    help: opts.help,
    type: 'counter',
    aggregator: 'sum',
    inc(labelValue) {
      counts.set(labelValue, (counts.get(labelValue) ?? 0) + 1);
    },
    get: values,
    getForPromString: values,
    reset() {
      counts = new Map();
    },
  };
}
