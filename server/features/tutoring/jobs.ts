import { and, eq, gt, isNull, lte } from "drizzle-orm";
import { tutoringSessions } from "../../../db/schema/mod.ts";
import { formatLocal } from "../../lib/time_zones.ts";
import { deliver, storeNotification } from "../notifications/service.ts";
import { getSchedule } from "./schedule.ts";
import type { TutoringDeps } from "./sessions.ts";

const HOUR = 3_600_000;

/**
 * The scheduler's tutoring pass: unpaid holds lapse, sessions that ended become completed, and
 * both people are reminded a day and an hour before a start. Each reminder is claimed by an
 * UPDATE that only matches it unsent, so a second run never sends it twice.
 */
export async function runTutoringJobs(
  deps: TutoringDeps,
  now = new Date(),
): Promise<{ lapsed: number; completed: number; reminders: number }> {
  const lapsed = await deps.db.update(tutoringSessions).set({
    status: "cancelled",
    cancelReason: "The payment was not completed in time",
    cancelledAt: now,
    updatedAt: now,
  }).where(and(
    eq(tutoringSessions.status, "pending_payment"),
    lte(tutoringSessions.holdExpiresAt, now),
  )).returning({ id: tutoringSessions.id });
  const completed = await deps.db.update(tutoringSessions).set({
    status: "completed",
    updatedAt: now,
  }).where(and(
    eq(tutoringSessions.status, "booked"),
    lte(tutoringSessions.endsAt, now),
  )).returning({ id: tutoringSessions.id });
  let reminders = 0;
  for (const lead of ["day", "hour"] as const) {
    const column = lead === "day"
      ? tutoringSessions.remindedDayBeforeAt
      : tutoringSessions.remindedHourBeforeAt;
    const due = await deps.db.select().from(tutoringSessions).where(and(
      eq(tutoringSessions.status, "booked"),
      gt(tutoringSessions.startsAt, now),
      lte(
        tutoringSessions.startsAt,
        new Date(now.getTime() + (lead === "day" ? 24 : 1) * HOUR),
      ),
      isNull(column),
      // The day-before reminder is skipped when the hour-before one is already due.
      lead === "day"
        ? gt(tutoringSessions.startsAt, new Date(now.getTime() + HOUR))
        : undefined,
    ));
    for (const session of due) {
      const zone = (await getSchedule(deps.db, session.instructorId).catch(
        () => undefined,
      ))?.timeZone ?? "UTC";
      const stored = await deps.db.transaction(async (tx) => {
        const claimed = await tx.update(tutoringSessions).set(
          lead === "day"
            ? { remindedDayBeforeAt: now }
            : { remindedHourBeforeAt: now },
        ).where(and(eq(tutoringSessions.id, session.id), isNull(column)))
          .returning({ id: tutoringSessions.id });
        if (claimed.length === 0) return [];
        const all = [];
        for (const userId of [session.learnerId, session.instructorId]) {
          all.push(
            await storeNotification(tx, deps, {
              userId,
              type: "session_reminder",
              title: lead === "day"
                ? "Session tomorrow"
                : "Session in less than an hour",
              message: `"${session.topic}" starts ${
                formatLocal(session.startsAt, zone)
              } (${zone}).`,
              link: `/api/tutoring/sessions/${session.id}`,
              relatedId: session.id,
            }),
          );
        }
        return all;
      });
      for (const one of stored) deliver(deps, one);
      reminders += stored.length;
    }
  }
  return {
    lapsed: lapsed.length,
    completed: completed.length,
    reminders,
  };
}
