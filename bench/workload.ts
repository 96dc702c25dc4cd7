// What one simulated user of the old system does, over and over: create a lead with a
// fresh email, read it, replace it with a PUT, read the PUT's task status. The HTTP load
// generator and the raw Temporal client run exactly this loop.

export interface BenchLeadBody {
  email: string;
  first_name: string;
  last_name: string;
  company: string;
  phone: string;
  source: string;
  stage: 'new' | 'contacted';
  tags: string[];
  custom: { bench_rev: number };
}

/** `marker` numbers the writes sent for the lead (1 = the create); the drain check reads it back. */
export function leadBody(email: string, marker: number, kind: 'create' | 'replace'): BenchLeadBody {
  return {
    email,
    first_name: 'Ada',
    last_name: 'Lovelace',
    company: 'Analytical Engines Ltd',
    phone: '+44 20 7946 0000',
    source: kind === 'create' ? 'website' : 'referral',
    stage: kind === 'create' ? 'new' : 'contacted',
    tags: kind === 'create' ? ['bench'] : ['bench', 'enterprise'],
    custom: { bench_rev: marker },
  };
}

/**
 * Unique, already-normalized emails. A lead's id is the API's to choose (random, not
 * derived from the email): loads learn it from the create's answer.
 */
export class EmailSource {
  private n = 0;

  constructor(private readonly prefix: string) {}

  next(): { email: string } {
    return { email: `${this.prefix}-${(this.n++).toString(36)}@bench.example.com` };
  }
}

/** A short random run id for email prefixes (lowercase, email-safe). */
export function runId(): string {
  return Math.random().toString(36).slice(2, 8);
}
