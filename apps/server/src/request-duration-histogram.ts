interface Labels {
  method: string;
  route: string;
  status_code: string;
}
/** one line of the exposition, as prom-client's metrics give them to its Registry */
interface Value {
  labels: Partial<Labels> & { le?: number | '+Inf' };
  value: number;
  metricName: string;
}
interface Exposition {
  name: string;
  help: string;
  type: 'histogram';
  values: Value[];
  aggregator: 'sum';
}

/**
 * The HTTP request duration histogram (`pkim_http_request_duration_seconds{method,route,status_code}`), kept by the
 * server itself and registered in the prom-client registry as a custom metric: prom-client's `Histogram.observe`
 * validates and hashes its label object on every observation (≈ 1–5 µs of every answered request, OCSP included:
 * docs/benchmarks-record.md); here a series is found by one string key and its bucket counted in a typed array. The
 * scrape output is prom-client's own for the same observations (server-metrics.test.ts compares them).
 */
export interface RequestDurationHistogram {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  observe(method: string, route: string, statusCode: number, seconds: number): void;
  /** what prom-client's Registry reads (text exposition, JSON) */
  get(): Promise<Exposition>;
  getForPromString(): Promise<Exposition>;
  reset(): void;
}

interface Series {
  labels: Labels;
  /** observations per bucket (not cumulative): counts[i] for the first bound ≥ the value, the last for above all */
  counts: Float64Array;
  sum: number;
  count: number;
}

export function createRequestDurationHistogram(opts: {
  name: string;
  help: string;
  buckets: number[];
}): RequestDurationHistogram {
  const bounds = [...opts.buckets].sort((a, b) => a - b);
  let series = new Map<string, Series>();
  const values = async (): Promise<Exposition> => {
    const out: Value[] = [];
    const bucket = `${opts.name}_bucket`;
    for (const s of series.values()) {
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += s.counts[i]!;
        out.push({ labels: { le: bounds[i]!, ...s.labels }, value: acc, metricName: bucket });
      }
      out.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${opts.name}_sum` });
      out.push({ labels: { ...s.labels }, value: s.count, metricName: `${opts.name}_count` });
    }
    return { name: opts.name, help: opts.help, type: 'histogram', values: out, aggregator: 'sum' };
  };
  return {
    name: opts.name,
    help: opts.help,
    type: 'histogram',
    aggregator: 'sum',
    observe(method, route, statusCode, seconds) {
      const key = `${statusCode} ${method} ${route}`;
      let s = series.get(key);
      if (!s) {
        s = {
          labels: { method, route, status_code: String(statusCode) },
          counts: new Float64Array(bounds.length + 1),
          sum: 0,
          count: 0,
        };
        series.set(key, s);
      }
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      s.counts[i] = s.counts[i]! + 1;
      s.sum += seconds;
      s.count++;
    },
    get: values,
    getForPromString: values,
    reset() {
      series = new Map();
    },
  };
}
