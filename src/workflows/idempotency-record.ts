/**
 * Marks an Idempotency-Key as used. The API starts one per key with the request's body
 * hash in its memo; Temporal's workflow-id uniqueness makes the claim atomic, and the
 * closed record stays visible to `describe` for the namespace's retention period, which
 * is how long a key is remembered. It does no work of its own.
 */
export async function idempotencyRecord(): Promise<void> {}
