import {
  and,
  asc,
  desc,
  eq,
  gte,
  inArray,
  lt,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type Stripe from "stripe";
import type { DbOrTx } from "../../../db/client.ts";
import {
  accessGrants,
  programs,
  type TutoringSession,
  tutoringSessions,
  type TutoringSessionStatus,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import {
  AppError,
  conflict,
  forbidden,
  notFound,
  validationFailed,
} from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { toMajor } from "../../lib/money.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { requireStripe, stripeFailure } from "../../lib/stripe.ts";
import { formatLocal } from "../../lib/time_zones.ts";
import {
  deliver,
  type NotificationInput,
  storeNotification,
} from "../notifications/service.ts";
import type { Actor } from "../programs/service.ts";
import { currentTier } from "../subscriptions/current.ts";
import { PLANS } from "../subscriptions/plans.ts";
import { busySessions } from "./busy.ts";
import { getSchedule, withinAvailability } from "./schedule.ts";
import { MAX_AHEAD_MS, MIN_NOTICE_MS } from "./slots.ts";

export type TutoringDeps = Pick<
  Deps,
  "db" | "stripe" | "mail" | "logger" | "background" | "config"
>;

const MINUTE = 60_000;
/** How long an unpaid booking keeps its slot. */
export const PAYMENT_HOLD_MS = 30 * MINUTE;
/** Upcoming sessions one learner may hold at once, so nobody books a calendar empty. */
export const MAX_UPCOMING_PER_LEARNER = 5;
const UPGRADE_URL = "/api/subscriptions/plans";

export interface BookingInput {
  instructorId: string;
  startsAt: Date;
  durationMinutes: number;
  topic: string;
}

/**
 * Mentorship comes with the premium plan, or with full (bundle) access to one of the instructor's
 * programs: the learner is then that instructor's student.
 */
export async function hasMentorship(
  db: DbOrTx,
  learnerId: string,
  instructorId: string,
  now = new Date(),
): Promise<boolean> {
  if (PLANS[await currentTier(db, learnerId, now)].mentorship) return true;
  const [grant] = await db.select({ id: accessGrants.id }).from(accessGrants)
    .innerJoin(programs, eq(programs.id, accessGrants.programId))
    .where(and(
      eq(accessGrants.userId, learnerId),
      eq(accessGrants.status, "active"),
      eq(accessGrants.accessType, "bundle"),
      eq(programs.instructorId, instructorId),
    )).limit(1);
  return !!grant;
}

/** Start and end checked against the schedule, the notice period and both calendars. */
async function assertBookable(
  tx: DbOrTx,
  input: { instructorId: string; learnerId: string; start: Date; end: Date },
  now: Date,
  exceptId?: string,
) {
  const schedule = await getSchedule(tx, input.instructorId);
  if (input.start.getTime() < now.getTime() + MIN_NOTICE_MS) {
    throw validationFailed({
      startsAt: `Must be at least ${MIN_NOTICE_MS / MINUTE} minutes from now`,
    });
  }
  if (input.start.getTime() > now.getTime() + MAX_AHEAD_MS) {
    throw validationFailed({
      startsAt: "Must be within the next 90 days",
    });
  }
  if (!withinAvailability(schedule, input.start, input.end)) {
    throw new AppError(
      409,
      "OUTSIDE_AVAILABILITY",
      "The instructor is not available for the whole of that time; see GET /api/tutoring/slots",
    );
  }
  const clashes = await busySessions(
    tx,
    [input.instructorId, input.learnerId],
    input.start,
    input.end,
    now,
    exceptId,
  );
  if (clashes.length > 0) {
    const instructorBusy = clashes.some((s) =>
      s.instructorId === input.instructorId ||
      s.learnerId === input.instructorId
    );
    throw conflict(
      "SLOT_TAKEN",
      instructorBusy
        ? "The instructor already has a session at that time"
        : "You already have a session at that time",
    );
  }
  return schedule;
}

/**
 * POST /api/tutoring/sessions. The availability and overlap checks and the insert share one write
 * transaction, and SQLite runs write transactions one at a time: of two overlapping bookings
 * exactly one succeeds. A learner without mentorship pays the instructor's rate through Stripe;
 * the slot is held for PAYMENT_HOLD_MS while they do.
 */
export async function bookSession(
  deps: TutoringDeps,
  learner: Actor,
  input: BookingInput,
  now = new Date(),
): Promise<{ session: TutoringSession; clientSecret: string | null }> {
  if (input.instructorId === learner.id) {
    throw conflict("SELF_BOOKING", "You cannot book a session with yourself");
  }
  const [instructor] = await deps.db.select().from(users).where(
    eq(users.id, input.instructorId),
  );
  if (
    !instructor || instructor.status !== "active" ||
    (instructor.role !== "instructor" && instructor.role !== "admin")
  ) {
    throw notFound("Instructor");
  }
  const mentorship = await hasMentorship(
    deps.db,
    learner.id,
    instructor.id,
    now,
  );
  const start = input.startsAt;
  const end = new Date(start.getTime() + input.durationMinutes * MINUTE);
  const session = await deps.db.transaction(async (tx) => {
    const schedule = await assertBookable(tx, {
      instructorId: instructor.id,
      learnerId: learner.id,
      start,
      end,
    }, now);
    if (!schedule.accepting) {
      throw conflict(
        "NOT_ACCEPTING_BOOKINGS",
        "This instructor is not taking bookings now",
      );
    }
    if (!mentorship && schedule.hourlyRate === null) {
      throw new AppError(
        402,
        "MENTORSHIP_REQUIRED",
        "1-on-1 sessions with this instructor come with the premium plan or full access to one of their programs",
        { plans: ["premium"], upgradeUrl: UPGRADE_URL },
      );
    }
    if (!mentorship) requireStripe(deps);
    const [upcoming] = await tx.select({ count: sql<number>`count(*)` }).from(
      tutoringSessions,
    ).where(and(
      eq(tutoringSessions.learnerId, learner.id),
      gte(tutoringSessions.endsAt, now),
      or(
        eq(tutoringSessions.status, "booked"),
        and(
          eq(tutoringSessions.status, "pending_payment"),
          sql`${tutoringSessions.holdExpiresAt} > ${now.getTime()}`,
        ),
      ),
    ));
    if ((upcoming?.count ?? 0) >= MAX_UPCOMING_PER_LEARNER) {
      throw conflict(
        "TOO_MANY_UPCOMING",
        `You can hold at most ${MAX_UPCOMING_PER_LEARNER} upcoming sessions`,
      );
    }
    const price = mentorship
      ? null
      : Math.round(schedule.hourlyRate! * input.durationMinutes / 60);
    const [created] = await tx.insert(tutoringSessions).values({
      id: newId(),
      instructorId: instructor.id,
      learnerId: learner.id,
      startsAt: start,
      endsAt: end,
      topic: input.topic,
      status: mentorship ? "booked" : "pending_payment",
      access: mentorship ? "mentorship" : "paid",
      price,
      currency: mentorship ? null : schedule.currency,
      holdExpiresAt: mentorship
        ? null
        : new Date(now.getTime() + PAYMENT_HOLD_MS),
      createdAt: now,
      updatedAt: now,
    }).returning();
    return created!;
  });
  if (session.status === "booked") {
    await announceBooked(deps, session);
    return { session, clientSecret: null };
  }
  return await startPayment(deps, session);
}

async function startPayment(
  deps: TutoringDeps,
  session: TutoringSession,
): Promise<{ session: TutoringSession; clientSecret: string }> {
  const stripe = requireStripe(deps);
  let intent: Stripe.PaymentIntent;
  try {
    intent = await stripe.paymentIntents.create({
      amount: session.price!,
      currency: session.currency!,
      automatic_payment_methods: { enabled: true },
      description: `Tutoring session ${session.startsAt.toISOString()}`,
      metadata: {
        kind: "tutoring_session",
        sessionId: session.id,
        userId: session.learnerId,
      },
    }, { idempotencyKey: `lectern-tutoring-${session.id}` });
  } catch (error) {
    await deps.db.update(tutoringSessions).set({
      status: "cancelled",
      cancelReason: "The payment could not be started",
      cancelledAt: new Date(),
      updatedAt: new Date(),
    }).where(eq(tutoringSessions.id, session.id));
    throw stripeFailure(error);
  }
  const [updated] = await deps.db.update(tutoringSessions).set({
    stripePaymentIntentId: intent.id,
    updatedAt: new Date(),
  }).where(eq(tutoringSessions.id, session.id)).returning();
  return { session: updated!, clientSecret: intent.client_secret ?? "" };
}

export type PaymentOutcome =
  | "booked"
  | "already booked"
  | "unknown session"
  | "slot lost"
  | "refund already requested";

/**
 * A succeeded PaymentIntent for a session books it, once, whoever reports it first (the webhook
 * or the learner's confirm call). A hold that lapsed is revived if the time is still free;
 * otherwise the money goes back.
 */
export async function confirmSessionPayment(
  tx: DbOrTx,
  intent: Pick<Stripe.PaymentIntent, "id" | "amount" | "currency" | "status">,
  now = new Date(),
): Promise<{ outcome: PaymentOutcome; session?: TutoringSession }> {
  const [session] = await tx.select().from(tutoringSessions).where(
    eq(tutoringSessions.stripePaymentIntentId, intent.id),
  );
  if (!session) return { outcome: "unknown session" };
  if (session.status === "booked" || session.status === "completed") {
    return { outcome: "already booked", session };
  }
  // Its money is already on the way back: a second report changes nothing.
  if (session.refundStatus !== null) {
    return { outcome: "refund already requested", session };
  }
  const wrongAmount = intent.amount !== session.price ||
    intent.currency.toLowerCase() !== session.currency;
  const clashes = await busySessions(
    tx,
    [session.instructorId, session.learnerId],
    session.startsAt,
    session.endsAt,
    now,
    session.id,
  );
  const tooLate = session.startsAt.getTime() <= now.getTime();
  if (clashes.length > 0 || session.cancelledBy || tooLate || wrongAmount) {
    const [refunding] = await tx.update(tutoringSessions).set({
      status: "cancelled",
      cancelReason: session.cancelReason ??
        (wrongAmount
          ? "The payment did not match the session's price"
          : tooLate
          ? "The payment arrived after the session's start"
          : "The time was taken while the payment was pending"),
      cancelledAt: session.cancelledAt ?? now,
      refundStatus: "requested",
      updatedAt: now,
    }).where(eq(tutoringSessions.id, session.id)).returning();
    return { outcome: "slot lost", session: refunding! };
  }
  const [booked] = await tx.update(tutoringSessions).set({
    status: "booked",
    holdExpiresAt: null,
    cancelReason: null,
    cancelledAt: null,
    updatedAt: now,
  }).where(eq(tutoringSessions.id, session.id)).returning();
  return { outcome: "booked", session: booked! };
}

/** After a payment outcome commits: the booking notices, or the refund. */
export async function afterSessionPayment(
  deps: TutoringDeps,
  result: { outcome: PaymentOutcome; session?: TutoringSession },
) {
  if (!result.session) return;
  if (result.outcome === "booked") await announceBooked(deps, result.session);
  if (result.outcome === "slot lost") await refundSession(deps, result.session);
}

/** POST /api/tutoring/sessions/:id/confirm-payment: asks Stripe, for clients that cannot wait for the webhook. */
export async function confirmPaymentFor(
  deps: TutoringDeps,
  viewer: Actor,
  id: string,
): Promise<TutoringSession> {
  const session = await loadSession(deps.db, viewer, id);
  if (session.access !== "paid" || !session.stripePaymentIntentId) {
    throw conflict("NOTHING_TO_PAY", "This session has no payment");
  }
  if (session.status === "booked") return session;
  const stripe = requireStripe(deps);
  let intent: Stripe.PaymentIntent;
  try {
    intent = await stripe.paymentIntents.retrieve(
      session.stripePaymentIntentId,
    );
  } catch (error) {
    throw stripeFailure(error);
  }
  if (intent.status !== "succeeded") {
    throw new AppError(
      402,
      "PAYMENT_INCOMPLETE",
      `The payment is ${intent.status.replaceAll("_", " ")}`,
      { status: intent.status },
    );
  }
  const result = await deps.db.transaction((tx) =>
    confirmSessionPayment(tx, intent)
  );
  await afterSessionPayment(deps, result);
  if (
    result.outcome === "slot lost" ||
    result.outcome === "refund already requested"
  ) {
    throw conflict(
      "SLOT_TAKEN",
      "This session could not be booked after all (the time was taken or has passed); the payment is refunded",
      { refundStatus: result.session?.refundStatus ?? null },
    );
  }
  return result.session!;
}

async function refundSession(deps: TutoringDeps, session: TutoringSession) {
  if (!deps.stripe || !session.stripePaymentIntentId) return;
  let status = "failed";
  try {
    const refund = await deps.stripe.refunds.create({
      payment_intent: session.stripePaymentIntentId,
    }, { idempotencyKey: `lectern-tutoring-refund-${session.id}` });
    status = refund.status ?? "pending";
  } catch (error) {
    deps.logger.error("tutoring refund failed", {
      sessionId: session.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  await deps.db.update(tutoringSessions).set({
    refundStatus: status,
    updatedAt: new Date(),
  }).where(eq(tutoringSessions.id, session.id));
}

/** A session its learner, its instructor or an admin may see; 404 for anyone else. */
export async function loadSession(
  db: DbOrTx,
  viewer: Actor,
  id: string,
): Promise<TutoringSession> {
  const [session] = await db.select().from(tutoringSessions).where(
    eq(tutoringSessions.id, id),
  );
  if (
    !session ||
    (session.learnerId !== viewer.id && session.instructorId !== viewer.id &&
      viewer.role !== "admin")
  ) {
    throw notFound("Session");
  }
  return session;
}

/**
 * The cancellation window: a learner changes or cancels up to `cancellationHours` before the
 * start; the instructor (and an admin) until the start.
 */
async function assertChangeable(
  db: DbOrTx,
  actor: Actor,
  session: TutoringSession,
  now: Date,
  what: "cancel" | "reschedule",
) {
  if (session.status !== "booked" && session.status !== "pending_payment") {
    throw conflict(
      "SESSION_CLOSED",
      `This session is ${session.status.replace("_", " ")}`,
    );
  }
  if (session.startsAt.getTime() <= now.getTime()) {
    throw conflict("SESSION_STARTED", "This session has already started");
  }
  if (actor.id !== session.learnerId) return;
  const schedule = await getSchedule(db, session.instructorId).catch(() =>
    undefined
  );
  const hours = schedule?.cancellationHours ?? 24;
  const deadline = new Date(session.startsAt.getTime() - hours * 3_600_000);
  if (now.getTime() > deadline.getTime()) {
    throw new AppError(
      409,
      "CANCELLATION_WINDOW_PASSED",
      `Sessions can be ${what}d up to ${hours} hours before they start; ask your instructor`,
      { deadline: deadline.toISOString(), cancellationHours: hours },
    );
  }
}

/** PUT /api/tutoring/sessions/:id/reschedule: a new time, checked as a new booking would be. */
export async function rescheduleSession(
  deps: TutoringDeps,
  actor: Actor,
  id: string,
  input: { startsAt: Date; durationMinutes?: number | undefined },
  now = new Date(),
): Promise<TutoringSession> {
  const updated = await deps.db.transaction(async (tx) => {
    const session = await loadSession(tx, actor, id);
    await assertChangeable(tx, actor, session, now, "reschedule");
    if (session.status !== "booked") {
      throw conflict("SESSION_NOT_BOOKED", "Pay for the session first");
    }
    const minutes = input.durationMinutes ?? durationOf(session);
    if (
      session.access === "mentorship" && minutes > durationOf(session) &&
      !(await hasMentorship(tx, session.learnerId, session.instructorId, now))
    ) {
      throw validationFailed({
        durationMinutes:
          "Mentorship has ended: the session can be moved but not lengthened",
      });
    }
    if (session.access === "paid" && minutes !== durationOf(session)) {
      throw validationFailed({
        durationMinutes: "A paid session keeps the length that was paid for",
      });
    }
    const end = new Date(input.startsAt.getTime() + minutes * MINUTE);
    await assertBookable(
      tx,
      {
        instructorId: session.instructorId,
        learnerId: session.learnerId,
        start: input.startsAt,
        end,
      },
      now,
      session.id,
    );
    const [moved] = await tx.update(tutoringSessions).set({
      startsAt: input.startsAt,
      endsAt: end,
      sequence: session.sequence + 1,
      remindedDayBeforeAt: null,
      remindedHourBeforeAt: null,
      updatedAt: now,
    }).where(eq(tutoringSessions.id, id)).returning();
    return moved!;
  });
  await tellOther(deps, actor, updated, {
    type: "session_rescheduled",
    title: "A session moved",
    message: (zone) =>
      `Your session "${updated.topic}" now starts ${
        formatLocal(updated.startsAt, zone)
      }.`,
  });
  return updated;
}

const durationOf = (session: TutoringSession) =>
  (session.endsAt.getTime() - session.startsAt.getTime()) / MINUTE;

/**
 * POST /api/tutoring/sessions/:id/cancel. A paid session is refunded when the instructor cancels
 * or the learner cancels in time.
 */
export async function cancelSession(
  deps: TutoringDeps,
  actor: Actor,
  id: string,
  reason: string | undefined,
  now = new Date(),
): Promise<TutoringSession> {
  const cancelled = await deps.db.transaction(async (tx) => {
    const session = await loadSession(tx, actor, id);
    await assertChangeable(tx, actor, session, now, "cancel");
    const refund = session.access === "paid" && session.status === "booked";
    const [row] = await tx.update(tutoringSessions).set({
      status: "cancelled",
      cancelledBy: actor.id,
      cancelReason: reason ?? null,
      cancelledAt: now,
      sequence: session.sequence + 1,
      refundStatus: refund ? "requested" : null,
      updatedAt: now,
    }).where(eq(tutoringSessions.id, id)).returning();
    return row!;
  });
  if (cancelled.refundStatus === "requested") {
    await refundSession(deps, cancelled);
  }
  await tellOther(deps, actor, cancelled, {
    type: "session_cancelled",
    title: "A session was cancelled",
    message: (zone) =>
      `The session "${cancelled.topic}" on ${
        formatLocal(cancelled.startsAt, zone)
      } was cancelled${reason ? `: ${reason}` : "."}`,
  });
  return cancelled;
}

/** PUT /api/tutoring/sessions/:id/notes: the instructor's notes, once the session has begun. */
export async function writeSessionNotes(
  deps: TutoringDeps,
  actor: Actor,
  id: string,
  notes: string,
  now = new Date(),
): Promise<TutoringSession> {
  const { row, stored } = await deps.db.transaction(async (tx) => {
    const session = await loadSession(tx, actor, id);
    if (session.instructorId !== actor.id) {
      throw forbidden(
        "NOT_THE_INSTRUCTOR",
        "Only the session's instructor writes its notes",
      );
    }
    if (session.status !== "booked" && session.status !== "completed") {
      throw conflict("SESSION_CLOSED", `This session is ${session.status}`);
    }
    if (session.startsAt.getTime() > now.getTime()) {
      throw conflict(
        "SESSION_NOT_STARTED",
        "Notes are written once the session has started",
      );
    }
    const [row] = await tx.update(tutoringSessions).set({
      notes,
      notesUpdatedAt: now,
      updatedAt: now,
    }).where(eq(tutoringSessions.id, id)).returning();
    const stored = session.notes === null
      ? await storeNotification(tx, deps, {
        userId: session.learnerId,
        type: "session_notes",
        title: "Notes from your session",
        message: `Your instructor wrote notes on "${session.topic}".`,
        link: `/api/tutoring/sessions/${id}`,
        relatedId: id,
      })
      : {};
    return { row: row!, stored };
  });
  deliver(deps, stored);
  return row;
}

async function zoneOf(db: DbOrTx, instructorId: string): Promise<string> {
  const schedule = await getSchedule(db, instructorId).catch(() => undefined);
  return schedule?.timeZone ?? "UTC";
}

async function announceBooked(deps: TutoringDeps, session: TutoringSession) {
  const zone = await zoneOf(deps.db, session.instructorId);
  const names = await namesOf(deps.db, [
    session.learnerId,
    session.instructorId,
  ]);
  const when = formatLocal(session.startsAt, zone);
  await notifyEach(deps, [
    {
      userId: session.learnerId,
      type: "session_booked",
      title: "Session booked",
      message: `Your session with ${
        names.get(session.instructorId)
      } on ${when} (${zone}) is booked: ${session.topic}`,
      link: `/api/tutoring/sessions/${session.id}`,
      relatedId: session.id,
    },
    {
      userId: session.instructorId,
      type: "session_booked",
      title: "New session booked",
      message: `${
        names.get(session.learnerId)
      } booked ${when} (${zone}): ${session.topic}`,
      link: `/api/tutoring/sessions/${session.id}`,
      relatedId: session.id,
    },
  ]);
}

async function tellOther(
  deps: TutoringDeps,
  actor: Actor,
  session: TutoringSession,
  notice: {
    type: "session_rescheduled" | "session_cancelled";
    title: string;
    message: (zone: string) => string;
  },
) {
  const zone = await zoneOf(deps.db, session.instructorId);
  const others = [session.learnerId, session.instructorId].filter((id) =>
    id !== actor.id
  );
  await notifyEach(
    deps,
    others.map((userId) => ({
      userId,
      type: notice.type,
      title: notice.title,
      message: `${notice.message(zone)} (${zone})`,
      link: `/api/tutoring/sessions/${session.id}`,
      relatedId: session.id,
    })),
  );
}

async function notifyEach(deps: TutoringDeps, notices: NotificationInput[]) {
  const stored = await deps.db.transaction(async (tx) => {
    const all = [];
    for (const notice of notices) {
      all.push(await storeNotification(tx, deps, notice));
    }
    return all;
  });
  for (const one of stored) deliver(deps, one);
}

async function namesOf(db: DbOrTx, ids: string[]) {
  const rows = await db.select({ id: users.id, name: users.name }).from(users)
    .where(inArray(users.id, ids));
  return new Map(rows.map((row) => [row.id, row.name]));
}

export interface SessionFilter extends PageRequest {
  scope?: "upcoming" | "past" | "all" | undefined;
  status?: TutoringSessionStatus | undefined;
  instructorId?: string | undefined;
  learnerId?: string | undefined;
  /** Sessions this person takes part in, as learner or instructor. */
  participantId?: string | undefined;
}

const learnerUser = alias(users, "learner");
const instructorUser = alias(users, "instructor");

/**
 * GET /api/tutoring/sessions (the caller's, as learner or instructor) and the CLI's list
 * (everyone's): upcoming soonest first, past most recent first.
 */
export async function listSessions(
  db: DbOrTx,
  viewer: Actor | undefined,
  filter: SessionFilter,
  now = new Date(),
) {
  const scope = filter.scope ?? "upcoming";
  const conditions: (SQL | undefined)[] = [
    filter.participantId
      ? or(
        eq(tutoringSessions.learnerId, filter.participantId),
        eq(tutoringSessions.instructorId, filter.participantId),
      )
      : undefined,
    filter.status ? eq(tutoringSessions.status, filter.status) : undefined,
    filter.instructorId
      ? eq(tutoringSessions.instructorId, filter.instructorId)
      : undefined,
    filter.learnerId
      ? eq(tutoringSessions.learnerId, filter.learnerId)
      : undefined,
    scope === "upcoming"
      ? and(
        gte(tutoringSessions.endsAt, now),
        inArray(tutoringSessions.status, ["booked", "pending_payment"]),
      )
      : scope === "past"
      ? or(
        lt(tutoringSessions.endsAt, now),
        inArray(tutoringSessions.status, ["cancelled", "completed"]),
      )
      : undefined,
  ];
  const where = and(...conditions);
  const rows = await db.select({
    session: tutoringSessions,
    learnerName: learnerUser.name,
    instructorName: instructorUser.name,
  }).from(tutoringSessions)
    .innerJoin(learnerUser, eq(learnerUser.id, tutoringSessions.learnerId))
    .innerJoin(
      instructorUser,
      eq(instructorUser.id, tutoringSessions.instructorId),
    )
    .where(where)
    .orderBy(
      scope === "upcoming"
        ? asc(tutoringSessions.startsAt)
        : desc(tutoringSessions.startsAt),
      asc(tutoringSessions.id),
    )
    .limit(filter.limit).offset(offsetOf(filter));
  const [count] = await db.select({ total: sql<number>`count(*)` }).from(
    tutoringSessions,
  ).where(where);
  return {
    sessions: rows.map((row) => ({
      ...toSessionResponse(row.session, viewer),
      learner: { id: row.session.learnerId, name: row.learnerName },
      instructor: { id: row.session.instructorId, name: row.instructorName },
    })),
    total: count?.total ?? 0,
  };
}

/** The notes are the instructor's record for the learner: only the two of them (and admins) see them. */
export function toSessionResponse(
  session: TutoringSession,
  viewer: Actor | undefined,
) {
  return {
    id: session.id,
    instructorId: session.instructorId,
    learnerId: session.learnerId,
    startsAt: session.startsAt.toISOString(),
    endsAt: session.endsAt.toISOString(),
    durationMinutes: durationOf(session),
    topic: session.topic,
    status: session.status,
    access: session.access,
    price: session.price === null ? null : toMajor(session.price),
    currency: session.currency,
    holdExpiresAt: session.holdExpiresAt?.toISOString() ?? null,
    cancelledBy: session.cancelledBy,
    cancelReason: session.cancelReason,
    cancelledAt: session.cancelledAt?.toISOString() ?? null,
    refundStatus: session.refundStatus,
    notes: viewer === undefined || viewer.role === "admin" ||
        viewer.id === session.learnerId || viewer.id === session.instructorId
      ? session.notes
      : null,
    notesUpdatedAt: session.notesUpdatedAt?.toISOString() ?? null,
    calendarUrl: `/api/tutoring/sessions/${session.id}/calendar.ics`,
    createdAt: session.createdAt.toISOString(),
    updatedAt: session.updatedAt.toISOString(),
  };
}
