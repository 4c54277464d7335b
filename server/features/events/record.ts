import type { DbOrTx } from "../../../db/client.ts";
import { events } from "../../../db/schema/mod.ts";
import { newId } from "../../lib/ids.ts";

export type EventType =
  | "quiz.attempted"
  | "quiz.passed"
  | "certificate.issued"
  | "certificate.revoked"
  | "certificate.reissued";

/** Appends an event; call it with the transaction that makes the change, so both commit or neither. */
export async function recordEvent(
  tx: DbOrTx,
  type: EventType,
  fields: {
    userId?: string;
    programId?: string;
    subjectId?: string;
    payload?: Record<string, unknown>;
  },
): Promise<string> {
  const id = newId();
  await tx.insert(events).values({
    id,
    type,
    userId: fields.userId ?? null,
    programId: fields.programId ?? null,
    subjectId: fields.subjectId ?? null,
    payload: fields.payload ?? {},
    createdAt: new Date(),
  });
  return id;
}
