export type QueryAdmission = 'query' | 'probe' | 'history';

/**
 * Decides whether a read asks the lead's workflow (a query, which a worker must answer) or
 * goes straight to Temporal history. After a query goes unanswered, reads skip queries for
 * `openMs`; then a single read probes with a query while the others keep reading history,
 * and only the probe's answer brings queries back. Without the probe, every read arriving
 * after the pause would wait out the query timeout again while the worker is still behind.
 */
export class QueryBreaker {
  private tripped = false;
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  admit(): QueryAdmission {
    if (!this.tripped) return 'query';
    if (this.probing || this.now() < this.openUntil) return 'history';
    this.probing = true;
    return 'probe';
  }

  /** A worker answered: queries are back. */
  answered(admission: QueryAdmission): void {
    if (admission === 'probe') this.probing = false;
    this.tripped = false;
  }

  /** No worker answered in time: read history for the next `openMs`. */
  unanswered(admission: QueryAdmission): void {
    if (admission === 'probe') this.probing = false;
    this.tripped = true;
    this.openUntil = this.now() + this.openMs;
  }

  /** The read ended without telling anything about the workers (e.g. no such workflow). */
  released(admission: QueryAdmission): void {
    if (admission === 'probe') this.probing = false;
  }
}
