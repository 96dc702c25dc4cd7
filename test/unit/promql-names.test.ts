import { describe, expect, it } from 'vitest';
import { exportedNamesOf, metricNamesOf } from '../support/promql.js';

describe('metric names of PromQL expressions (dashboard check)', () => {
  it('keeps selectors, drops functions, label names, strings, ranges and Grafana variables', () => {
    expect(
      metricNamesOf('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="api", route=~"a|b"}[$__rate_interval])))'),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(metricNamesOf('sum(rate(emails_sent[5m])) / on (instance) group_left sum without (x) (up) > bool 0')).toEqual(['emails_sent', 'up']);
    expect(metricNamesOf('sum by (node) (numshards_gauge{job="temporal"})')).toEqual(['numshards_gauge']);
    expect(metricNamesOf('max by (job) (leads_failed) - max by (job) (leads_failed offset 30m) > 0 or on () vector(0)')).toEqual(['leads_failed']);
  });

  it('reads sample names and declared metrics, with a histogram declared before its first sample', () => {
    const names = exportedNamesOf(
      ['# HELP h x', '# TYPE h histogram', '# TYPE c counter', 'g{a="1"} 2', 'temporal_x_bucket{le="1"} 0', ''].join('\n'),
    );
    expect([...names].sort()).toEqual(['c', 'g', 'h', 'h_bucket', 'h_count', 'h_sum', 'temporal_x_bucket']);
  });
});
