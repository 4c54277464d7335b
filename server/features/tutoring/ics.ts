import { stripControlChars } from "../../lib/plain_text.ts";
import type { TutoringSession } from "../../../db/schema/mod.ts";

/** RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines. */
function escapeText(text: string): string {
  return stripControlChars(text).replace(/\\/g, "\\\\").replace(/;/g, "\\;")
    .replace(/,/g, "\\,").replace(/\r\n|\r|\n/g, "\\n").replace(/\t/g, " ");
}

/** Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1). */
function fold(line: string): string {
  const bytes = new TextEncoder().encode(line);
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let current = "";
  let size = 0;
  for (const char of line) {
    const length = new TextEncoder().encode(char).length;
    const limit = parts.length === 0 ? 75 : 74;
    if (size + length > limit) {
      parts.push(current);
      current = "";
      size = 0;
    }
    current += char;
    size += length;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

/** A parameter value, quoted (RFC 5545 3.2): DQUOTE cannot appear inside, nor can controls. */
const param = (value: string) =>
  `"${stripControlChars(value).replace(/["\r\n\t]/g, " ")}"`;

const stamp = (date: Date) =>
  date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

export interface CalendarPeople {
  learner: { name: string; email: string };
  instructor: { name: string; email: string };
}

/**
 * One VEVENT per session, with a stable UID and a SEQUENCE bumped on every change, so calendars
 * update the event they already have (and drop it when cancelled).
 */
export function sessionCalendar(
  session: TutoringSession,
  people: CalendarPeople,
  options: { schoolName: string; appUrl: string; now?: Date },
): string {
  const host = new URL(options.appUrl).hostname || "lectern";
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    `PRODID:-//${escapeText(options.schoolName)}//Lectern//EN`,
    "CALSCALE:GREGORIAN",
    `METHOD:${session.status === "cancelled" ? "CANCEL" : "PUBLISH"}`,
    "BEGIN:VEVENT",
    `UID:${session.id}@${host}`,
    `DTSTAMP:${stamp(options.now ?? new Date())}`,
    `DTSTART:${stamp(session.startsAt)}`,
    `DTEND:${stamp(session.endsAt)}`,
    `SEQUENCE:${session.sequence}`,
    `SUMMARY:${
      escapeText(`Tutoring: ${session.topic} (${people.instructor.name})`)
    }`,
    `DESCRIPTION:${
      escapeText(
        `1-on-1 session with ${people.instructor.name} and ${people.learner.name}.\n${options.appUrl}/api/tutoring/sessions/${session.id}`,
      )
    }`,
    `ORGANIZER;CN=${
      param(people.instructor.name)
    }:mailto:${people.instructor.email}`,
    `ATTENDEE;CN=${
      param(people.learner.name)
    };ROLE=REQ-PARTICIPANT:mailto:${people.learner.email}`,
    `STATUS:${
      session.status === "cancelled"
        ? "CANCELLED"
        : session.status === "pending_payment"
        ? "TENTATIVE"
        : "CONFIRMED"
    }`,
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "DESCRIPTION:Tutoring session",
    "TRIGGER:-PT15M",
    "END:VALARM",
    "END:VEVENT",
    "END:VCALENDAR",
  ];
  return lines.map(fold).join("\r\n") + "\r\n";
}
