import type { DbOrTx } from "../../../db/client.ts";
import { executeRaw } from "../../../db/raw.ts";
import { newId } from "../../lib/ids.ts";

export type EventType =
  | "quiz.attempted"
  | "quiz.passed"
  | "certificate.issued"
  | "certificate.revoked"
  | "certificate.reissued"
  | "program.viewed"
  | "enrollment.created"
  | "ai.message"
  | "user.signed_in";

interface EventFields {
  userId?: string;
  programId?: string;
  subjectId?: string;
  payload?: Record<string, unknown>;
}

/** The columns of a new `events` row, and its values as drizzle would store them. */
const INSERT_EVENT =
  `insert into "events" ("id", "type", "user_id", "program_id", "subject_id", "payload", "created_at")`;
const eventValues = (id: string, type: EventType, fields: EventFields) => [
  id,
  type,
  fields.userId ?? null,
  fields.programId ?? null,
  fields.subjectId ?? null,
  JSON.stringify(fields.payload ?? {}),
  Date.now(),
];

/**
 * Appends an event; call it with the transaction that makes the change, so both commit or neither.
 * Plain SQL (db/raw.ts): this runs inside every grading transaction.
 */
export async function recordEvent(
  tx: DbOrTx,
  type: EventType,
  fields: EventFields,
): Promise<string> {
  const id = newId();
  await executeRaw(
    tx,
    `${INSERT_EVENT} values (?, ?, ?, ?, ?, ?, ?)`,
    eventValues(id, type, fields),
  );
  return id;
}

/**
 * Appends an event unless one of the same type already exists for the same user and subject, in one
 * statement. Returns the new event's id, or null when there was one already.
 */
export async function recordEventOnce(
  tx: DbOrTx,
  type: EventType,
  fields: EventFields & { userId: string; subjectId: string },
): Promise<string | null> {
  const id = newId();
  const inserted = await executeRaw(
    tx,
    `${INSERT_EVENT} select ?, ?, ?, ?, ?, ?, ? where not exists (select 1 from "events" where "type" = ? and "user_id" = ? and "subject_id" = ?)`,
    [...eventValues(id, type, fields), type, fields.userId, fields.subjectId],
  );
  return inserted.rowsAffected > 0 ? id : null;
}
