// Reads samples out of Prometheus text exposition (what /metrics serves) for tests.

/** The value of the one sample `series` (name and labels exactly as exposed); NaN when absent. */
export function metricSample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** The `le` bounds and counts of a histogram's finite buckets for `labels` (`a="x",b="y"`), in exposition order. */
export function histogramBuckets(text: string, name: string, labels: string): { le: number; count: number }[] {
  const prefix = `${name}_bucket{${labels},le="`;
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix) && !l.startsWith(`${prefix}+Inf"`))
    .map((l) => {
      const [le, count] = l.slice(prefix.length).split('"} ');
      return { le: Number(le), count: Number(count) };
    });
}
