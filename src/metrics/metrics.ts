import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process: a registry of counters, gauges and histograms
 * (prom-client) that knows nothing of what they measure. Whoever measures something
 * registers its own metrics here, next to the code it measures: the workers their jobs and
 * queues (src/queue/metrics.ts), the web its requests (src/web/metrics.ts), monitoring its
 * per-monitor gauges (src/server/monitors.ts).
 *
 * A gauge read at scrape time takes a `collect` hook. A hook that throws (Redis away) keeps
 * the gauge's last values instead of failing the whole scrape.
 */
export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export class Metrics {
  private readonly registry = new Registry();

  /** `processPrefix`: also export Node's process metrics (CPU, memory, event loop) with this prefix. */
  constructor(options: { processPrefix?: string } = {}) {
    if (options.processPrefix !== undefined)
      collectDefaultMetrics({ register: this.registry, prefix: options.processPrefix });
  }

  counter<L extends string = never>(o: MetricOptions<L>): Counter<L> {
    return new Counter({ ...this.base(o), registers: [this.registry] });
  }

  histogram<L extends string = never>(o: MetricOptions<L> & { buckets: number[] }): Histogram<L> {
    return new Histogram({ ...this.base(o), buckets: o.buckets, registers: [this.registry] });
  }

  /** A gauge; with `collect`, its values are set by the hook at each scrape. */
  gauge<L extends string = never>(
    o: MetricOptions<L> & { collect?: (gauge: Gauge<L>) => void | Promise<void> },
  ): Gauge<L> {
    const hook = o.collect;
    return new Gauge({
      ...this.base(o),
      registers: [this.registry],
      ...(hook
        ? {
            async collect(this: Gauge<L>) {
              try {
                await hook(this);
              } catch {
                // The source is away: keep the last values rather than failing the scrape.
              }
            },
          }
        : {}),
    });
  }

  /** The media type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format (runs the collect hooks). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private base<L extends string>(o: MetricOptions<L>): { name: string; help: string; labelNames: L[] } {
    return { name: o.name, help: o.help, labelNames: [...(o.labelNames ?? [])] };
  }
}
