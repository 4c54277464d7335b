import { inArray } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { TUTORING_SESSION_STATUSES, users } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { Price } from "../../lib/money.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { optionalAuth, requireAuth, viewerOf } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { requestActor } from "../audit/service.ts";
import { Id, PlainText } from "../practice/schemas.ts";
import { sessionCalendar } from "./ics.ts";
import { getSchedule, saveSchedule, toScheduleResponse } from "./schedule.ts";
import {
  bookSession,
  cancelSession,
  confirmPaymentFor,
  listSessions,
  loadSession,
  rescheduleSession,
  toSessionResponse,
  writeSessionNotes,
} from "./sessions.ts";
import { freeSlots } from "./slots.ts";

const tags = ["Tutoring"];
const Instant = v.pipe(
  v.string("Must be an ISO 8601 date-time"),
  v.isoTimestamp(
    "Must be an ISO 8601 date-time with a zone, e.g. 2026-12-01T15:00:00Z",
  ),
  v.transform((text) => new Date(text)),
);
const Duration = v.pipe(
  v.number("Must be a number of minutes"),
  v.integer("Must be whole minutes"),
  v.minValue(15, "Must be at least 15 minutes"),
  v.maxValue(240, "Must be at most 240 minutes"),
  v.check((minutes) => minutes % 15 === 0, "Must be a multiple of 15 minutes"),
);
const Clock = v.pipe(v.string(), v.regex(/^\d{2}:\d{2}$/, "Must be HH:MM"));
const ScheduleBody = v.strictObject({
  timeZone: v.pipe(v.string("Must be a time zone"), v.maxLength(64)),
  weekly: v.pipe(
    v.array(
      v.strictObject({
        weekday: v.pipe(
          v.number(),
          v.integer(),
          v.minValue(1, "Must be 1 (Monday) to 7 (Sunday)"),
          v.maxValue(7, "Must be 1 (Monday) to 7 (Sunday)"),
        ),
        start: Clock,
        end: Clock,
      }),
    ),
    v.maxLength(50, "At most 50 windows"),
  ),
  daysOff: v.optional(
    v.pipe(
      v.array(
        v.strictObject({
          date: v.pipe(v.string(), v.isoDate("Must be YYYY-MM-DD")),
          reason: v.optional(PlainText(200)),
        }),
      ),
      v.maxLength(366, "At most 366 days off"),
    ),
  ),
  hourlyRate: v.optional(
    v.nullable(
      v.pipe(
        Price,
        v.minValue(
          0.5,
          "Must be at least 0.50, or null for mentorship learners only",
        ),
      ),
    ),
  ),
  currency: v.optional(
    v.pipe(v.string(), v.regex(/^[a-zA-Z]{3}$/, "Must be a three-letter code")),
  ),
  cancellationHours: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(168)),
  ),
  accepting: v.optional(v.boolean()),
}, "Unknown field");
const SessionSchema = v.object({
  id: v.string(),
  instructorId: v.string(),
  learnerId: v.string(),
  startsAt: v.string(),
  endsAt: v.string(),
  durationMinutes: v.number(),
  topic: v.string(),
  status: v.picklist(TUTORING_SESSION_STATUSES),
  access: v.string(),
  price: v.nullable(v.number()),
  currency: v.nullable(v.string()),
  notes: v.nullable(v.string()),
  calendarUrl: v.string(),
});
const SessionResponse = v.object({
  success: v.literal(true),
  session: SessionSchema,
});

/** 003's tutoring sessions and 002's premium mentorship, under /api/tutoring. */
export function tutoringRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  app.get(
    "/availability",
    describeRoute({
      tags,
      summary:
        "An instructor's weekly hours (in their time zone), days off and rates",
      responses: responses({
        description: "Availability",
        schema: v.object({ success: v.literal(true) }),
      }, [404, 422]),
    }),
    validate("query", v.object({ instructorId: Id })),
    async (c) =>
      c.json({
        success: true,
        availability: toScheduleResponse(
          await getSchedule(deps.db, c.req.valid("query").instructorId),
        ),
      }),
  );

  app.put(
    "/availability",
    describeRoute({
      tags,
      summary:
        "Publish your weekly hours, days off, hourly rate (null: mentorship learners only) and cancellation window",
      security: bearerAuth,
      responses: responses({
        description: "Saved",
        schema: v.object({ success: v.literal(true) }),
      }, [401, 403, 415, 422]),
    }),
    signedIn,
    requireRole("instructor", "admin"),
    validate("json", ScheduleBody),
    async (c) => {
      const saved = await saveSchedule(
        deps.db,
        c.get("auth").user,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        availability: toScheduleResponse(saved),
      });
    },
  );

  app.get(
    "/slots",
    describeRoute({
      tags,
      summary:
        "Free slots of an instructor between from and to (at most 31 days), each also in the time zone asked for",
      responses: responses({
        description: "Slots",
        schema: v.object({ success: v.literal(true) }),
      }, [404, 422]),
    }),
    optionalAuth(deps),
    validate(
      "query",
      v.object({
        instructorId: Id,
        from: Instant,
        to: Instant,
        durationMinutes: v.optional(
          v.pipe(v.string(), v.transform(Number), Duration),
          "60",
        ),
        tz: v.optional(v.pipe(v.string(), v.maxLength(64)), "UTC"),
      }),
    ),
    async (c) => {
      const query = c.req.valid("query");
      const { schedule, slots } = await freeSlots(deps.db, {
        instructorId: query.instructorId,
        from: query.from,
        to: query.to,
        durationMinutes: query.durationMinutes,
        timeZone: query.tz,
        viewerId: viewerOf(c)?.id,
      });
      return c.json({
        success: true,
        instructorId: query.instructorId,
        instructorTimeZone: schedule.timeZone,
        timeZone: query.tz,
        durationMinutes: query.durationMinutes,
        slots,
      });
    },
  );

  app.post(
    "/sessions",
    describeRoute({
      tags,
      summary:
        "Book a session: inside availability, overlapping nobody's session; free with mentorship, otherwise paid (clientSecret)",
      security: bearerAuth,
      responses: responses(
        {
          status: 201,
          description: "Booked or held for payment",
          schema: SessionResponse,
        },
        [401, 402, 404, 409, 415, 422, 503],
      ),
    }),
    signedIn,
    validate(
      "json",
      v.strictObject({
        instructorId: Id,
        startsAt: Instant,
        durationMinutes: v.optional(Duration, 60),
        topic: PlainText(500, 1),
      }, "Unknown field"),
    ),
    async (c) => {
      const viewer = c.get("auth").user;
      const { session, clientSecret } = await bookSession(
        deps,
        viewer,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, viewer),
        clientSecret,
      }, 201);
    },
  );

  app.get(
    "/sessions",
    describeRoute({
      tags,
      summary:
        "Your sessions as learner or instructor (scope upcoming, past or all)",
      security: bearerAuth,
      responses: responses({
        description: "Sessions",
        schema: v.object({
          success: v.literal(true),
          sessions: v.array(SessionSchema),
        }),
      }, [401, 422]),
    }),
    signedIn,
    validate(
      "query",
      v.object({
        ...pageQuery(20),
        scope: v.optional(
          v.picklist(
            ["upcoming", "past", "all"],
            "Must be upcoming, past or all",
          ),
        ),
        status: v.optional(v.picklist(TUTORING_SESSION_STATUSES)),
      }),
    ),
    async (c) => {
      const query = c.req.valid("query");
      const viewer = c.get("auth").user;
      // Admins see their own here too; the CLI lists everyone's.
      const result = await listSessions(deps.db, viewer, {
        ...query,
        participantId: viewer.id,
      });
      return c.json({
        success: true,
        sessions: result.sessions,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/sessions/:id",
    describeRoute({
      tags,
      summary: "One session (its learner, its instructor, admins)",
      security: bearerAuth,
      responses: responses(
        { description: "Session", schema: SessionResponse },
        [
          401,
          404,
        ],
      ),
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    async (c) => {
      const viewer = c.get("auth").user;
      const session = await loadSession(
        deps.db,
        viewer,
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, viewer),
      });
    },
  );

  app.get(
    "/sessions/:id/calendar.ics",
    describeRoute({
      tags,
      summary: "The session as an iCalendar file (text/calendar)",
      security: bearerAuth,
      responses: {
        200: { description: "An .ics file with one event" },
        404: { description: "Not found" },
      },
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    async (c) => {
      const session = await loadSession(
        deps.db,
        c.get("auth").user,
        c.req.valid("param").id,
      );
      const people = await deps.db.select({
        id: users.id,
        name: users.name,
        email: users.email,
      }).from(users).where(
        inArray(users.id, [session.learnerId, session.instructorId]),
      );
      const find = (id: string) =>
        people.find((person) => person.id === id) ?? {
          name: "Unknown",
          email: "unknown@invalid",
        };
      const body = sessionCalendar(session, {
        learner: find(session.learnerId),
        instructor: find(session.instructorId),
      }, { schoolName: deps.config.school.name, appUrl: deps.config.appUrl });
      return c.body(body, 200, {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition":
          `attachment; filename="session-${session.id}.ics"`,
        "Cache-Control": "private, no-cache",
      });
    },
  );

  app.put(
    "/sessions/:id/reschedule",
    describeRoute({
      tags,
      summary:
        "Move a booked session (learners: before the cancellation window; instructors: before it starts)",
      security: bearerAuth,
      responses: responses({ description: "Moved", schema: SessionResponse }, [
        401,
        404,
        409,
        415,
        422,
      ]),
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    validate(
      "json",
      v.strictObject({
        startsAt: Instant,
        durationMinutes: v.optional(Duration),
      }, "Unknown field"),
    ),
    async (c) => {
      const viewer = c.get("auth").user;
      const session = await rescheduleSession(
        deps,
        viewer,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, viewer),
      });
    },
  );

  app.post(
    "/sessions/:id/cancel",
    describeRoute({
      tags,
      summary:
        "Cancel a session (the cancellation window applies to learners); a paid one is refunded",
      security: bearerAuth,
      responses: responses({
        description: "Cancelled",
        schema: SessionResponse,
      }, [
        401,
        404,
        409,
        415,
        422,
      ]),
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    validate(
      "json",
      v.strictObject({ reason: v.optional(PlainText(500)) }, "Unknown field"),
    ),
    async (c) => {
      const session = await cancelSession(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json").reason,
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, c.get("auth").user),
      });
    },
  );

  app.put(
    "/sessions/:id/notes",
    describeRoute({
      tags,
      summary: "The instructor's notes on a session, once it has started",
      security: bearerAuth,
      responses: responses({ description: "Saved", schema: SessionResponse }, [
        401,
        403,
        404,
        409,
        415,
        422,
      ]),
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    validate(
      "json",
      v.strictObject({ notes: PlainText(10_000, 1) }, "Unknown field"),
    ),
    async (c) => {
      const viewer = c.get("auth").user;
      const session = await writeSessionNotes(
        deps,
        viewer,
        c.req.valid("param").id,
        c.req.valid("json").notes,
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, viewer),
      });
    },
  );

  app.post(
    "/sessions/:id/confirm-payment",
    describeRoute({
      tags,
      summary:
        "Book a paid session once its PaymentIntent succeeded (the webhook does the same)",
      security: bearerAuth,
      responses: responses({ description: "Booked", schema: SessionResponse }, [
        401,
        402,
        404,
        409,
        503,
      ]),
    }),
    signedIn,
    validate("param", v.object({ id: Id })),
    async (c) => {
      const viewer = c.get("auth").user;
      const session = await confirmPaymentFor(
        deps,
        viewer,
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        session: toSessionResponse(session, viewer),
      });
    },
  );
  return app;
}
