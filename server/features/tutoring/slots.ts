import type { DbOrTx } from "../../../db/client.ts";
import { validationFailed } from "../../lib/errors.ts";
import {
  addDays,
  formatLocal,
  isTimeZone,
  localTime,
  parseClock,
  zonedInstant,
} from "../../lib/time_zones.ts";
import { busySessions } from "./busy.ts";
import { getSchedule, SLOT_STEP_MS, withinAvailability } from "./schedule.ts";

const MINUTE = 60_000;
/** Slots start on the half hour of the instructor's windows (withinAvailability checks it too). */
export const SLOT_STEP_MINUTES = SLOT_STEP_MS / MINUTE;
/** A session is booked at least this long ahead, so the instructor can see it coming. */
export const MIN_NOTICE_MS = 60 * MINUTE;
/** And at most this far ahead. */
export const MAX_AHEAD_MS = 90 * 24 * 60 * MINUTE;
const MAX_RANGE_MS = 31 * 24 * 60 * MINUTE;

export interface SlotQuery {
  instructorId: string;
  from: Date;
  to: Date;
  durationMinutes: number;
  /** The zone the caller reads times in; each slot is also given as local time there. */
  timeZone: string;
  /** The caller: their own sessions are busy time too. */
  viewerId?: string | undefined;
}

/**
 * GET /api/tutoring/slots: every start (on the half hour of a weekly window, in the instructor's
 * zone) where the whole session fits the window, is not a day off, is far enough ahead, and
 * overlaps no session of the instructor or the caller. A wall time a daylight-saving change skips
 * is no slot; one it repeats is offered once.
 */
export async function freeSlots(
  db: DbOrTx,
  query: SlotQuery,
  now = new Date(),
) {
  if (!isTimeZone(query.timeZone)) {
    throw validationFailed({
      tz: "Must be an IANA time zone such as Asia/Tokyo",
    });
  }
  if (query.to.getTime() <= query.from.getTime()) {
    throw validationFailed({ to: "Must be after from" });
  }
  if (query.to.getTime() - query.from.getTime() > MAX_RANGE_MS) {
    throw validationFailed({ to: "Ask for at most 31 days at a time" });
  }
  const schedule = await getSchedule(db, query.instructorId);
  const durationMs = query.durationMinutes * MINUTE;
  const earliest = Math.max(
    query.from.getTime(),
    now.getTime() + MIN_NOTICE_MS,
  );
  const latest = Math.min(query.to.getTime(), now.getTime() + MAX_AHEAD_MS);
  const slots: {
    startsAt: string;
    endsAt: string;
    start: string;
    end: string;
  }[] = [];
  if (!schedule.accepting || latest <= earliest) {
    return { schedule, slots };
  }
  const busy = await busySessions(
    db,
    [query.instructorId, ...(query.viewerId ? [query.viewerId] : [])],
    new Date(earliest),
    new Date(latest),
    now,
  );
  const seen = new Set<number>();
  const lastDate = addDays(
    localTime(new Date(latest), schedule.timeZone).date,
    1,
  );
  for (
    let date = addDays(
      localTime(new Date(earliest), schedule.timeZone).date,
      -1,
    );
    date <= lastDate;
    date = addDays(date, 1)
  ) {
    const weekday = isoWeekday(date);
    for (const window of schedule.weekly) {
      if (window.weekday !== weekday) continue;
      const windowEnd = parseClock(window.end)!;
      for (
        let minute = parseClock(window.start)!;
        minute < windowEnd;
        minute += SLOT_STEP_MINUTES
      ) {
        const start = zonedInstant(date, minute, schedule.timeZone);
        if (!start || seen.has(start.getTime())) continue;
        const end = new Date(start.getTime() + durationMs);
        if (start.getTime() < earliest || end.getTime() > latest) continue;
        if (!withinAvailability(schedule, start, end)) continue;
        if (busy.some((s) => s.startsAt < end && s.endsAt > start)) continue;
        seen.add(start.getTime());
        slots.push({
          startsAt: start.toISOString(),
          endsAt: end.toISOString(),
          start: formatLocal(start, query.timeZone),
          end: formatLocal(end, query.timeZone),
        });
      }
    }
  }
  slots.sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  return { schedule, slots };
}

function isoWeekday(date: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return day === 0 ? 7 : day;
}
