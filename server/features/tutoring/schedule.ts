import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type DayOff,
  type TutorSchedule,
  tutorSchedules,
  users,
  type WeeklyWindow,
} from "../../../db/schema/mod.ts";
import { forbidden, notFound, validationFailed } from "../../lib/errors.ts";
import { toMajor, toMinor } from "../../lib/money.ts";
import {
  isTimeZone,
  localTime,
  parseClock,
  zonedInstantOrJump,
} from "../../lib/time_zones.ts";
import type { Actor } from "../programs/service.ts";

export interface ScheduleInput {
  timeZone: string;
  weekly: WeeklyWindow[];
  daysOff?: DayOff[] | undefined;
  /** Major units per hour for learners without mentorship; null or absent: mentorship only. */
  hourlyRate?: number | null | undefined;
  currency?: string | undefined;
  cancellationHours?: number | undefined;
  accepting?: boolean | undefined;
}

export const DEFAULT_CANCELLATION_HOURS = 24;
/** Sessions start on the half hour of a window (30 minutes). */
export const SLOT_STEP_MS = 30 * 60_000;

/** Windows must be real clock times, end after start, and not overlap on the same weekday. */
function checkWindows(weekly: WeeklyWindow[]): void {
  const fields: Record<string, string> = {};
  const byDay = new Map<
    number,
    { start: number; end: number; index: number }[]
  >();
  weekly.forEach((window, index) => {
    const start = parseClock(window.start);
    const end = parseClock(window.end);
    if (start === null || start >= 24 * 60) {
      fields[`weekly.${index}.start`] = "Must be a time from 00:00 to 23:59";
    } else if (end === null) {
      fields[`weekly.${index}.end`] = "Must be a time from 00:01 to 24:00";
    } else if (end <= start) {
      fields[`weekly.${index}.end`] = "Must be after the start";
    } else {
      const list = byDay.get(window.weekday) ?? [];
      list.push({ start, end, index });
      byDay.set(window.weekday, list);
    }
  });
  for (const list of byDay.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.start < list[i - 1]!.end) {
        fields[`weekly.${list[i]!.index}.start`] =
          "Overlaps another window on the same day";
      }
    }
  }
  if (Object.keys(fields).length > 0) throw validationFailed(fields);
}

/** PUT /api/tutoring/availability: an instructor's hours, days off, price and cancellation window. */
export async function saveSchedule(
  db: DbOrTx,
  actor: Actor,
  input: ScheduleInput,
): Promise<TutorSchedule> {
  if (actor.role !== "instructor" && actor.role !== "admin") {
    throw forbidden(
      "NOT_AN_INSTRUCTOR",
      "Only instructors publish tutoring availability",
    );
  }
  if (!isTimeZone(input.timeZone)) {
    throw validationFailed({
      timeZone: "Must be an IANA time zone such as Europe/Paris",
    });
  }
  checkWindows(input.weekly);
  const currency = (input.currency ?? "usd").toLowerCase();
  const values = {
    timeZone: input.timeZone,
    weekly: input.weekly,
    daysOff: [...(input.daysOff ?? [])].sort((a, b) =>
      a.date.localeCompare(b.date)
    ),
    hourlyRate: input.hourlyRate === null || input.hourlyRate === undefined
      ? null
      : toMinor(input.hourlyRate),
    currency,
    cancellationHours: input.cancellationHours ?? DEFAULT_CANCELLATION_HOURS,
    accepting: input.accepting ?? true,
    updatedAt: new Date(),
  };
  const [saved] = await db.insert(tutorSchedules).values({
    instructorId: actor.id,
    ...values,
  }).onConflictDoUpdate({ target: tutorSchedules.instructorId, set: values })
    .returning();
  return saved!;
}

/** An active instructor's schedule; 404 when they publish none. */
export async function getSchedule(
  db: DbOrTx,
  instructorId: string,
): Promise<TutorSchedule> {
  const [row] = await db.select({
    schedule: tutorSchedules,
    status: users.status,
  })
    .from(tutorSchedules).innerJoin(
      users,
      eq(users.id, tutorSchedules.instructorId),
    ).where(eq(tutorSchedules.instructorId, instructorId));
  if (!row || row.status !== "active") throw notFound("Tutoring availability");
  return row.schedule;
}

/**
 * The one availability rule, for slots and bookings alike: [start, end) lies inside one weekly
 * window of the instructor's local day, and that day is not a day off.
 */
export function withinAvailability(
  schedule: Pick<TutorSchedule, "timeZone" | "weekly" | "daysOff">,
  start: Date,
  end: Date,
): boolean {
  if (end.getTime() <= start.getTime()) return false;
  const from = localTime(start, schedule.timeZone);
  if (schedule.daysOff.some((day) => day.date === from.date)) return false;
  // Compared as instants, so a window's real length holds across a daylight-saving change.
  return schedule.weekly.some((window) => {
    if (window.weekday !== from.weekday) return false;
    const opens = zonedInstantOrJump(
      from.date,
      parseClock(window.start)!,
      schedule.timeZone,
    );
    const closes = zonedInstantOrJump(
      from.date,
      parseClock(window.end)!,
      schedule.timeZone,
    );
    // Sessions start on the half hour of the window, as slots are offered.
    const offset = start.getTime() - opens.getTime();
    return offset >= 0 && offset % SLOT_STEP_MS === 0 &&
      end.getTime() <= closes.getTime();
  });
}

export function toScheduleResponse(schedule: TutorSchedule) {
  return {
    instructorId: schedule.instructorId,
    timeZone: schedule.timeZone,
    weekly: schedule.weekly,
    daysOff: schedule.daysOff,
    hourlyRate: schedule.hourlyRate === null
      ? null
      : toMajor(schedule.hourlyRate),
    currency: schedule.currency,
    cancellationHours: schedule.cancellationHours,
    accepting: schedule.accepting,
    updatedAt: schedule.updatedAt.toISOString(),
  };
}
