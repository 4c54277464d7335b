/**
 * Wall-clock times in IANA time zones, with the platform's own tz database (Intl): no library.
 * A local date is "YYYY-MM-DD"; a local time is minutes after midnight.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

export function isTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS: Record<string, number> = {
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
  Sun: 7,
};

export interface LocalTime {
  date: string;
  /** ISO weekday, 1 Monday ... 7 Sunday. */
  weekday: number;
  minutes: number;
  /** The zone's offset from UTC at that instant, in minutes (e.g. -300 for New York in winter). */
  offsetMinutes: number;
}

/** What a clock in `zone` shows at `instant`. */
export function localTime(instant: Date, zone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(zone).formatToParts(instant)) {
    parts[part.type] = part.value;
  }
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  const second = Number(parts.second);
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const wholeSeconds = Math.floor(instant.getTime() / 1000) * 1000;
  return {
    date: `${String(year).padStart(4, "0")}-${pad(month)}-${pad(day)}`,
    weekday: WEEKDAYS[parts.weekday ?? ""] ?? 0,
    minutes: hour * 60 + minute,
    offsetMinutes: Math.round((asUtc - wholeSeconds) / 60_000),
  };
}

/**
 * The instant a clock in `zone` shows `date` at `minutes`. Null when that wall time does not
 * exist (skipped by a daylight-saving change); the earlier instant when it happens twice.
 */
export function zonedInstant(
  date: string,
  minutes: number,
  zone: string,
): Date | null {
  if (minutes >= 24 * 60) {
    return zonedInstant(
      addDays(date, Math.floor(minutes / 1440)),
      minutes % 1440,
      zone,
    );
  }
  const [year, month, day] = date.split("-").map(Number) as [
    number,
    number,
    number,
  ];
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  // Any real offset is one of the offsets in force a day either side of the wall time.
  const offsets = new Set(
    [-1, 0, 1].map((days) =>
      localTime(new Date(wall + days * 86_400_000), zone).offsetMinutes
    ),
  );
  const matches = [...offsets]
    .map((offset) => new Date(wall - offset * 60_000))
    .filter((candidate) => {
      const shown = localTime(candidate, zone);
      return shown.date === date && shown.minutes === minutes;
    })
    .sort((a, b) => a.getTime() - b.getTime());
  return matches[0] ?? null;
}

/**
 * Like `zonedInstant`, but a wall time a daylight-saving change skips becomes the instant the
 * clock jumps (as if the old offset still held): the end of a window at a skipped midnight is the
 * moment the next day begins.
 */
export function zonedInstantOrJump(
  date: string,
  minutes: number,
  zone: string,
): Date {
  const exact = zonedInstant(date, minutes, zone);
  if (exact) return exact;
  const day = addDays(date, Math.floor(minutes / 1440));
  const [year, month, dayOfMonth] = day.split("-").map(Number) as [
    number,
    number,
    number,
  ];
  const wall = Date.UTC(year, month - 1, dayOfMonth, 0, minutes % 1440);
  const before = localTime(new Date(wall - 86_400_000), zone).offsetMinutes;
  return new Date(wall - before * 60_000);
}

/** `date` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split("-").map(Number) as [
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(
    0,
    10,
  );
}

/** "HH:MM" -> minutes after midnight; "24:00" is the end of the day. */
export function parseClock(text: string): number | null {
  const match = text.match(/^([01]\d|2[0-4]):([0-5]\d)$/);
  if (!match) return null;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= 24 * 60 ? minutes : null;
}

/** An ISO 8601 local rendering with the zone's offset, e.g. 2026-03-08T09:00:00-04:00. */
export function formatLocal(instant: Date, zone: string): string {
  const local = localTime(instant, zone);
  const sign = local.offsetMinutes < 0 ? "-" : "+";
  const offset = Math.abs(local.offsetMinutes);
  return `${local.date}T${pad(Math.floor(local.minutes / 60))}:${
    pad(local.minutes % 60)
  }:00${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}
