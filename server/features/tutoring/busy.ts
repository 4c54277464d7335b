import { and, eq, gt, inArray, lt, ne, or, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type TutoringSession,
  tutoringSessions,
} from "../../../db/schema/mod.ts";

/** A session holds its time while booked, or while its payment hold has not lapsed. */
export function holdsTime(now: Date): SQL {
  return or(
    eq(tutoringSessions.status, "booked"),
    eq(tutoringSessions.status, "completed"),
    and(
      eq(tutoringSessions.status, "pending_payment"),
      gt(tutoringSessions.holdExpiresAt, now),
    ),
  )!;
}

/** Sessions of any of these people (as learner or instructor) that overlap [start, end). */
export async function busySessions(
  db: DbOrTx,
  people: string[],
  start: Date,
  end: Date,
  now: Date,
  exceptId?: string,
): Promise<TutoringSession[]> {
  return await db.select().from(tutoringSessions).where(and(
    or(
      inArray(tutoringSessions.instructorId, people),
      inArray(tutoringSessions.learnerId, people),
    ),
    lt(tutoringSessions.startsAt, end),
    gt(tutoringSessions.endsAt, start),
    holdsTime(now),
    exceptId ? ne(tutoringSessions.id, exceptId) : undefined,
  ));
}
