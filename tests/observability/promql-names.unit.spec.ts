import { describe, expect, it } from 'vitest';
import { exposedNames, metricNamesIn } from './promql-names.ts';

describe('metric names in PromQL', () => {
  it('finds the metrics an expression reads, not its functions, labels, groupings or variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (service, le) (rate(rpc_server_request_duration_seconds_bucket{service=~"$service",outcome="error"}[$__rate_interval]))) / on (service) group_left max(up) > 1',
      ).sort(),
    ).toEqual(['rpc_server_request_duration_seconds_bucket', 'up']);
    expect(metricNamesIn('min by (bucket) (github_api_rate_limit_remaining / github_api_rate_limit_limit) < 0.1').sort()).toEqual([
      'github_api_rate_limit_limit',
      'github_api_rate_limit_remaining',
    ]);
  });

  it('lists the sample names of an exposition, with histogram suffixes', () => {
    const names = exposedNames('# HELP a_total x\n# TYPE a_total counter\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 0\n');
    expect([...names].sort()).toEqual(['a_total', 'h_seconds', 'h_seconds_bucket', 'h_seconds_count', 'h_seconds_sum']);
  });
});
