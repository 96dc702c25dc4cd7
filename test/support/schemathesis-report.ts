// Reads schemathesis's JUnit report: one test case per operation (and one for the stateful
// phase), each failure text listing its test cases with the checks they failed and the answer.

export interface Failure {
  /** `POST /api/leads`, or `Stateful tests`. */
  operation: string;
  /** The check codes this test case failed, e.g. ['ST202']. */
  checks: string[];
  /** The error codes seen in the answer (`"code":"…"`), e.g. ['invalid_request', 'invalid_cursor']. */
  errorCodes: string[];
  text: string;
}

export interface BaselineEntry {
  check: string;
  error_code: string;
  reason: string;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (e) => ENTITIES[e] ?? e);

export function failuresOf(xml: string): Failure[] {
  const out: Failure[] = [];
  for (const testcase of xml.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const operation = unescape(testcase[1] ?? '');
    for (const failure of (testcase[2] ?? '').matchAll(/<failure[^>]*>([\s\S]*?)<\/failure>/g)) {
      for (const text of unescape(failure[1] ?? '').split(/^(?=\d+\. Test Case ID: )/m).filter((t) => /Test Case ID/.test(t))) {
        const checks = [...new Set([...text.matchAll(/^- (ST\d+) /gm)].map((m) => m[1]!))];
        const errorCodes = [...new Set([...text.matchAll(/"code":"([a-z_]+)"/g)].map((m) => m[1]!))];
        out.push({ operation, checks, errorCodes, text: text.trim() });
      }
    }
  }
  return out;
}

/** A failure every check of which a baseline entry names, for an error code the answer carries. */
export function excused(failure: Failure, entries: BaselineEntry[]): boolean {
  if (failure.checks.length === 0) return false;
  return failure.checks.every((check) => entries.some((e) => e.check === check && failure.errorCodes.includes(e.error_code)));
}
