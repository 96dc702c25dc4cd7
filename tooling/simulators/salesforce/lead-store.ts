/**
 * The simulated org's Lead records, indexed by Id, by external id and by email. Records are
 * replaced, never changed in place, so `clone()` (copying the indexes only) gives allOrNone
 * requests a draft to work on and drop.
 */

export interface SfLead {
  Id: string;
  /** Every field but Id, as Salesforce would return them. */
  fields: Record<string, unknown>;
  CreatedDate: string;
  LastModifiedDate: string;
}

export class LeadStore {
  private constructor(
    readonly externalIdField: string,
    private readonly byId: Map<string, SfLead>,
    private readonly byExternalId: Map<string, string>,
    private readonly byEmail: Map<string, string>,
  ) {}

  static empty(externalIdField: string): LeadStore {
    return new LeadStore(externalIdField, new Map(), new Map(), new Map());
  }

  clone(): LeadStore {
    return new LeadStore(this.externalIdField, new Map(this.byId), new Map(this.byExternalId), new Map(this.byEmail));
  }

  get(id: string): SfLead | undefined {
    return this.byId.get(id);
  }

  withExternalId(value: string): SfLead | undefined {
    const id = this.byExternalId.get(value);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** The Id of the lead holding `email` (compared as Salesforce's matching rule does: case-insensitive). */
  holderOfEmail(email: string): string | undefined {
    return this.byEmail.get(emailKey(email));
  }

  put(lead: SfLead): void {
    const before = this.byId.get(lead.Id);
    if (before) this.unindex(before);
    this.byId.set(lead.Id, lead);
    const ext = lead.fields[this.externalIdField];
    if (typeof ext === 'string' && ext !== '') this.byExternalId.set(ext, lead.Id);
    const email = lead.fields.Email;
    if (typeof email === 'string' && email !== '') this.byEmail.set(emailKey(email), lead.Id);
  }

  remove(id: string): SfLead | undefined {
    const lead = this.byId.get(id);
    if (!lead) return undefined;
    this.unindex(lead);
    this.byId.delete(id);
    return lead;
  }

  all(): SfLead[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  private unindex(lead: SfLead): void {
    const ext = lead.fields[this.externalIdField];
    if (typeof ext === 'string' && this.byExternalId.get(ext) === lead.Id) this.byExternalId.delete(ext);
    const email = lead.fields.Email;
    if (typeof email === 'string' && this.byEmail.get(emailKey(email)) === lead.Id) this.byEmail.delete(emailKey(email));
  }
}

function emailKey(email: string): string {
  return email.trim().toLowerCase();
}
