import { describe, expect, it } from 'vitest';
import { excused, failuresOf, type BaselineEntry } from '../support/schemathesis-report.js';

const xml = `<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis">
<testcase name="GET /api/leads" time="0.5"><failure type="failure" message="ST202">1. Test Case ID: a1

- ST202 Schema-valid request rejected

[400] Bad Request:

    \`{"error":{"code":"invalid_request","issues":[{"path":"query.cursor","code":"invalid_cursor"}]}}\`

    curl -X GET 'http://x/api/leads?limit=20&amp;cursor=0'

2. Test Case ID: a2

- ST108 Response violates schema
- ST202 Schema-valid request rejected

[400] Bad Request:

    \`{"error":{"code":"invalid_cursor"}}\`</failure></testcase>
<testcase name="GET /health" time="0.1" />
</testsuite></testsuites>`;

const cursor: BaselineEntry = { check: 'ST202', error_code: 'invalid_cursor', reason: 'opaque token' };

describe('schemathesis JUnit report', () => {
  it('lists each failing test case with its operation, checks and error codes', () => {
    const failures = failuresOf(xml);
    expect(failures.map((f) => [f.operation, f.checks, f.errorCodes])).toEqual([
      ['GET /api/leads', ['ST202'], ['invalid_request', 'invalid_cursor']],
      ['GET /api/leads', ['ST108', 'ST202'], ['invalid_cursor']],
    ]);
    expect(failures[0]!.text).toContain("cursor=0'");
  });

  it('excuses a failure only when every check it failed is in the baseline for an error code of its answer', () => {
    const [first, second] = failuresOf(xml);
    expect(excused(first!, [cursor])).toBe(true);
    expect(excused(second!, [cursor])).toBe(false); // ST108 is not excused
    expect(excused(first!, [{ ...cursor, check: 'ST201' }])).toBe(false);
    expect(excused(first!, [{ ...cursor, error_code: 'idempotency_key_reused' }])).toBe(false);
  });
});
