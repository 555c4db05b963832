/**
 * The hook point for ingestion events. Signed webhooks (issue 20 item 2) are built on the events
 * branch, whose `deleteDocument` emits `document.deleted` itself with the same `reason` argument:
 * at merge, their emitter replaces this one. Until then the event is only logged, and emitting
 * never fails the deletion that caused it.
 */
export type DeletionReason = "deleted" | "expired";

/** The event's id is the document's, so a delete retried (or a sweep racing a DELETE) is one event. */
export async function emitDocumentDeleted(_env: Env, doc: { id: string; collection_id: string }, reason: DeletionReason): Promise<void> {
  console.log(
    JSON.stringify({
      event: "document.deleted",
      id: `evt_deleted_${doc.id}`,
      collection_id: doc.collection_id,
      document_id: doc.id,
      reason,
    }),
  );
}
