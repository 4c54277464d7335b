import assert from "node:assert/strict";
import { withinAvailability } from "../../server/features/tutoring/schedule.ts";
import {
  addDays,
  formatLocal,
  isTimeZone,
  localTime,
  parseClock,
  zonedInstant,
} from "../../server/lib/time_zones.ts";

const NY = "America/New_York";
const iso = (date: Date | null) => date?.toISOString() ?? null;
const clock = (text: string) => parseClock(text)!;

Deno.test("zonedInstant: ordinary days in whole-hour and half-hour zones", () => {
  assert.equal(
    iso(zonedInstant("2026-01-15", clock("09:00"), NY)),
    "2026-01-15T14:00:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-07-15", clock("09:00"), NY)),
    "2026-07-15T13:00:00.000Z",
  );
  // Kolkata is UTC+05:30 all year: the half hour must survive the round trip.
  assert.equal(
    iso(zonedInstant("2026-01-15", clock("09:00"), "Asia/Kolkata")),
    "2026-01-15T03:30:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-07-15", clock("00:15"), "Asia/Kolkata")),
    "2026-07-14T18:45:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-05-01", clock("12:00"), "UTC")),
    "2026-05-01T12:00:00.000Z",
  );
  // East of UTC across the date line: 08:00 on Jan 1 in Kiritimati (+14) is Dec 31 in UTC.
  assert.equal(
    iso(zonedInstant("2026-01-01", clock("08:00"), "Pacific/Kiritimati")),
    "2025-12-31T18:00:00.000Z",
  );
});

Deno.test("zonedInstant: New York spring-forward (2026-03-08) skips 02:00-02:59", () => {
  assert.equal(zonedInstant("2026-03-08", clock("02:00"), NY), null);
  assert.equal(zonedInstant("2026-03-08", clock("02:30"), NY), null);
  assert.equal(zonedInstant("2026-03-08", clock("02:59"), NY), null);
  assert.equal(
    iso(zonedInstant("2026-03-08", clock("01:59"), NY)),
    "2026-03-08T06:59:00.000Z",
    "01:59 is still EST (-05:00)",
  );
  assert.equal(
    iso(zonedInstant("2026-03-08", clock("03:00"), NY)),
    "2026-03-08T07:00:00.000Z",
    "03:00 EDT follows 01:59 EST by one minute",
  );
  assert.equal(
    iso(zonedInstant("2026-03-08", clock("09:00"), NY)),
    "2026-03-08T13:00:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-03-07", clock("09:00"), NY)),
    "2026-03-07T14:00:00.000Z",
  );
});

Deno.test("zonedInstant: New York fall-back (2026-11-01) repeats 01:00-01:59; the earlier instant wins", () => {
  // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
  assert.equal(
    iso(zonedInstant("2026-11-01", clock("01:30"), NY)),
    "2026-11-01T05:30:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-11-01", clock("01:00"), NY)),
    "2026-11-01T05:00:00.000Z",
  );
  // Both instants really do read 01:30 on a New York clock.
  for (const instant of ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"]) {
    const shown = localTime(new Date(instant), NY);
    assert.equal(shown.date, "2026-11-01");
    assert.equal(shown.minutes, clock("01:30"));
  }
  assert.equal(
    iso(zonedInstant("2026-11-01", clock("02:00"), NY)),
    "2026-11-01T07:00:00.000Z",
    "02:00 happens once, in EST",
  );
  assert.equal(
    iso(zonedInstant("2026-11-01", clock("00:30"), NY)),
    "2026-11-01T04:30:00.000Z",
  );
});

Deno.test("zonedInstant: Lord Howe's 30-minute daylight saving and London's changes", () => {
  const LH = "Australia/Lord_Howe";
  // 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11:00); only half an hour is missing.
  assert.equal(zonedInstant("2026-10-04", clock("02:00"), LH), null);
  assert.equal(zonedInstant("2026-10-04", clock("02:15"), LH), null);
  assert.equal(
    iso(zonedInstant("2026-10-04", clock("02:30"), LH)),
    "2026-10-03T15:30:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-10-04", clock("01:45"), LH)),
    "2026-10-03T15:15:00.000Z",
  );
  // 2026-04-05: 02:00 (+11:00) falls back to 01:30 (+10:30); 01:30-01:59 happen twice.
  assert.equal(
    iso(zonedInstant("2026-04-05", clock("01:45"), LH)),
    "2026-04-04T14:45:00.000Z",
  );
  assert.equal(
    localTime(new Date("2026-04-04T14:45:00Z"), LH).offsetMinutes,
    660,
  );
  assert.equal(
    localTime(new Date("2026-04-04T15:15:00Z"), LH).offsetMinutes,
    630,
  );
  assert.equal(
    localTime(new Date("2026-04-04T15:15:00Z"), LH).minutes,
    clock("01:45"),
  );

  const LON = "Europe/London";
  assert.equal(zonedInstant("2026-03-29", clock("01:30"), LON), null);
  assert.equal(
    iso(zonedInstant("2026-03-29", clock("02:00"), LON)),
    "2026-03-29T01:00:00.000Z",
  );
  assert.equal(
    iso(zonedInstant("2026-10-25", clock("01:30"), LON)),
    "2026-10-25T00:30:00.000Z",
    "the BST 01:30, not the GMT one an hour later",
  );
});

Deno.test("zonedInstant: minutes past 24:00 roll into the next day", () => {
  assert.equal(
    iso(zonedInstant("2026-03-07", clock("24:00"), NY)),
    "2026-03-08T05:00:00.000Z",
  );
  assert.equal(
    zonedInstant("2026-03-07", 24 * 60 + clock("02:30"), NY),
    null,
    "the next day's skipped 02:30 is still skipped",
  );
  assert.equal(
    iso(zonedInstant("2026-12-31", clock("24:00"), "Asia/Kolkata")),
    "2026-12-31T18:30:00.000Z",
  );
});

Deno.test("localTime: date, ISO weekday, minutes and offset", () => {
  assert.deepEqual(localTime(new Date("2026-03-08T06:59:00Z"), NY), {
    date: "2026-03-08",
    weekday: 7,
    minutes: clock("01:59"),
    offsetMinutes: -300,
  });
  assert.deepEqual(localTime(new Date("2026-03-08T07:00:00Z"), NY), {
    date: "2026-03-08",
    weekday: 7,
    minutes: clock("03:00"),
    offsetMinutes: -240,
  });
  // Seconds and milliseconds do not disturb the offset.
  assert.equal(
    localTime(new Date("2026-03-08T06:59:59.999Z"), NY).offsetMinutes,
    -300,
  );
  assert.deepEqual(
    localTime(new Date("2026-01-01T00:00:00Z"), "Asia/Kolkata"),
    {
      date: "2026-01-01",
      weekday: 4,
      minutes: clock("05:30"),
      offsetMinutes: 330,
    },
  );
  // Monday 00:00 in Tokyo is still Sunday in UTC.
  const tokyo = localTime(new Date("2026-11-22T15:00:00Z"), "Asia/Tokyo");
  assert.equal(tokyo.date, "2026-11-23");
  assert.equal(tokyo.weekday, 1);
  assert.equal(tokyo.minutes, 0);
  // A minute before midnight is 23:59, never a "24" hour.
  assert.equal(
    localTime(new Date("2026-06-01T22:59:00Z"), "Europe/Paris").minutes,
    clock("00:59"),
  );
  assert.equal(
    localTime(new Date("2026-06-01T21:59:00Z"), "Europe/Paris").minutes,
    clock("23:59"),
  );
  assert.equal(
    localTime(new Date("2026-06-01T22:00:00Z"), "Europe/Paris").minutes,
    0,
  );
});

Deno.test("formatLocal: ISO 8601 with the zone's offset at that instant", () => {
  assert.equal(
    formatLocal(new Date("2026-03-07T14:00:00Z"), NY),
    "2026-03-07T09:00:00-05:00",
  );
  assert.equal(
    formatLocal(new Date("2026-03-08T13:00:00Z"), NY),
    "2026-03-08T09:00:00-04:00",
  );
  assert.equal(
    formatLocal(new Date("2026-11-01T05:30:00Z"), NY),
    "2026-11-01T01:30:00-04:00",
  );
  assert.equal(
    formatLocal(new Date("2026-11-01T06:30:00Z"), NY),
    "2026-11-01T01:30:00-05:00",
  );
  assert.equal(
    formatLocal(new Date("2026-01-01T00:00:00Z"), "Asia/Kolkata"),
    "2026-01-01T05:30:00+05:30",
  );
  assert.equal(
    formatLocal(new Date("2026-01-01T00:00:00Z"), "America/St_Johns"),
    "2025-12-31T20:30:00-03:30",
  );
  assert.equal(
    formatLocal(new Date("2026-01-01T00:00:00Z"), "Asia/Kathmandu"),
    "2026-01-01T05:45:00+05:45",
  );
  assert.equal(
    formatLocal(new Date("2026-06-01T12:00:00Z"), "UTC"),
    "2026-06-01T12:00:00+00:00",
  );
  assert.equal(
    formatLocal(new Date("2026-06-01T12:00:00Z"), "Europe/London"),
    "2026-06-01T13:00:00+01:00",
  );
  // What formatLocal writes names the same instant again.
  for (
    const instant of [
      "2026-03-08T06:30:00.000Z",
      "2026-11-01T06:30:00.000Z",
      "2026-10-03T15:30:00.000Z",
    ]
  ) {
    for (const zone of [NY, "Asia/Kolkata", "Australia/Lord_Howe"]) {
      assert.equal(
        new Date(formatLocal(new Date(instant), zone)).toISOString(),
        instant,
        `${instant} in ${zone}`,
      );
    }
  }
});

Deno.test("addDays: month ends, leap years, negatives", () => {
  assert.equal(addDays("2026-02-28", 1), "2026-03-01");
  assert.equal(addDays("2028-02-28", 1), "2028-02-29");
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  assert.equal(addDays("2026-01-31", 30), "2026-03-02");
  assert.equal(addDays("2026-03-08", 0), "2026-03-08");
  // A calendar day, not 24 hours: the spring-forward day is skipped over as one day.
  assert.equal(addDays("2026-03-07", 2), "2026-03-09");
});

Deno.test("parseClock: HH:MM from 00:00 to 24:00, nothing else", () => {
  assert.equal(parseClock("00:00"), 0);
  assert.equal(parseClock("09:30"), 570);
  assert.equal(parseClock("23:59"), 1439);
  assert.equal(parseClock("24:00"), 1440);
  for (
    const bad of [
      "24:01",
      "24:30",
      "25:00",
      "12:60",
      "9:00",
      "09:0",
      "",
      "12:00:00",
      " 09:00",
      "ab:cd",
    ]
  ) {
    assert.equal(parseClock(bad), null, JSON.stringify(bad));
  }
});

Deno.test("isTimeZone: IANA names only", () => {
  assert.equal(isTimeZone("America/New_York"), true);
  assert.equal(isTimeZone("Australia/Lord_Howe"), true);
  assert.equal(isTimeZone("UTC"), true);
  assert.equal(isTimeZone("Mars/Olympus_Mons"), false);
  assert.equal(isTimeZone(""), false);
  assert.equal(isTimeZone("A".repeat(65)), false);
});

Deno.test("withinAvailability", async (t) => {
  const at = (text: string) => new Date(text);
  const schedule = {
    timeZone: NY,
    weekly: [
      { weekday: 6, start: "09:00", end: "12:00" }, // Saturday
      { weekday: 6, start: "22:00", end: "24:00" },
      { weekday: 7, start: "00:00", end: "04:00" }, // Sunday
    ],
    daysOff: [] as { date: string; reason?: string }[],
  };

  await t.step("inside one window, at its edges, not across two", () => {
    // Saturday 2026-03-07 is EST: 09:00 = 14:00Z.
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T14:00:00Z"),
        at("2026-03-07T17:00:00Z"),
      ),
      true,
      "exactly the window",
    );
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T13:30:00Z"),
        at("2026-03-07T14:30:00Z"),
      ),
      false,
      "starts before the window",
    );
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T16:30:00Z"),
        at("2026-03-07T17:30:00Z"),
      ),
      false,
      "ends after the window",
    );
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T15:00:00Z"),
        at("2026-03-07T15:00:00Z"),
      ),
      false,
      "empty",
    );
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T16:00:00Z"),
        at("2026-03-07T15:00:00Z"),
      ),
      false,
      "backwards",
    );
    // The window is wall time: on the next Saturday (EDT) it starts at 13:00Z, not 14:00Z.
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-14T13:00:00Z"),
        at("2026-03-14T14:00:00Z"),
      ),
      true,
    );
    assert.equal(
      withinAvailability(
        schedule,
        at("2026-03-07T13:00:00Z"),
        at("2026-03-07T14:00:00Z"),
      ),
      false,
      "13:00Z is 08:00 EST",
    );
  });

  await t.step(
    "a window ending at 24:00 takes a session up to midnight, not past it",
    () => {
      // Saturday 23:00-24:00 EST = 04:00Z-05:00Z Sunday.
      assert.equal(
        withinAvailability(
          schedule,
          at("2026-03-08T04:00:00Z"),
          at("2026-03-08T05:00:00Z"),
        ),
        true,
      );
      // 23:30 Saturday to 00:30 Sunday spans two windows on two days.
      assert.equal(
        withinAvailability(
          schedule,
          at("2026-03-08T04:30:00Z"),
          at("2026-03-08T05:30:00Z"),
        ),
        false,
      );
    },
  );

  await t.step(
    "the spring-forward night: an hour of elapsed time across the gap",
    () => {
      // Sunday 01:30 EST (06:30Z) + 60 min = 03:30 EDT (07:30Z), inside 00:00-04:00.
      assert.equal(
        withinAvailability(
          schedule,
          at("2026-03-08T06:30:00Z"),
          at("2026-03-08T07:30:00Z"),
        ),
        true,
      );
      // 03:30 EDT + 60 min = 04:30 EDT: past the window.
      assert.equal(
        withinAvailability(
          schedule,
          at("2026-03-08T07:30:00Z"),
          at("2026-03-08T08:30:00Z"),
        ),
        false,
      );
    },
  );

  await t.step("a day off removes the whole local day", () => {
    const off = { ...schedule, daysOff: [{ date: "2026-03-07" }] };
    assert.equal(
      withinAvailability(
        off,
        at("2026-03-07T14:00:00Z"),
        at("2026-03-07T15:00:00Z"),
      ),
      false,
    );
    // 04:00Z Sunday is still Saturday 23:00 in New York: on the day off.
    assert.equal(
      withinAvailability(
        off,
        at("2026-03-08T04:00:00Z"),
        at("2026-03-08T05:00:00Z"),
      ),
      false,
      "23:00-24:00 Saturday local is on the day off",
    );
    assert.equal(
      withinAvailability(
        off,
        at("2026-03-08T05:00:00Z"),
        at("2026-03-08T06:00:00Z"),
      ),
      true,
      "00:00 Sunday local is not, though its UTC date is also 2026-03-08",
    );
    // The day off is read in the instructor's zone, not UTC: Saturday 22:00 NY is Sunday in UTC.
    const sundayOff = { ...schedule, daysOff: [{ date: "2026-03-08" }] };
    assert.equal(
      withinAvailability(
        sundayOff,
        at("2026-03-08T03:00:00Z"),
        at("2026-03-08T04:00:00Z"),
      ),
      true,
    );
  });

  await t.step("half-hour zones", () => {
    const kolkata = {
      timeZone: "Asia/Kolkata",
      weekly: [{ weekday: 4, start: "09:00", end: "10:00" }],
      daysOff: [],
    };
    // Thursday 2026-01-15 09:00 IST = 03:30Z.
    assert.equal(
      withinAvailability(
        kolkata,
        at("2026-01-15T03:30:00Z"),
        at("2026-01-15T04:30:00Z"),
      ),
      true,
    );
    assert.equal(
      withinAvailability(
        kolkata,
        at("2026-01-15T03:00:00Z"),
        at("2026-01-15T04:00:00Z"),
      ),
      false,
    );
  });
});

Deno.test({
  name:
    "withinAvailability: a window ending 24:00 on the night midnight is skipped",
  fn() {
    const santiago = {
      timeZone: "America/Santiago",
      weekly: [{ weekday: 6, start: "22:00", end: "24:00" }],
      daysOff: [],
    };
    // Saturday 2026-09-05 23:00 (-04:00) = 03:00Z; an hour later Santiago reads Sunday 01:00 (-03:00).
    assert.equal(
      formatLocal(new Date("2026-09-06T04:00:00Z"), "America/Santiago"),
      "2026-09-06T01:00:00-03:00",
    );
    assert.equal(
      withinAvailability(
        santiago,
        new Date("2026-09-06T02:00:00Z"),
        new Date("2026-09-06T03:00:00Z"),
      ),
      true,
    );
    assert.equal(
      withinAvailability(
        santiago,
        new Date("2026-09-06T03:00:00Z"),
        new Date("2026-09-06T04:00:00Z"),
      ),
      true,
      "23:00 until the end of Saturday is a real hour inside 22:00-24:00",
    );
  },
});
