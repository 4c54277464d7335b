import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { getEditableProgram } from "../programs/service.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import {
  finalizeIfExpired,
  getAttempt,
  gradeAttempt,
  saveAnswers,
  setAccommodation,
  startAttempt,
  submitAttempt,
} from "./attempts.ts";
import {
  inProgressView,
  listAttempts,
  resultView,
  reviewAllowedFor,
} from "./results.ts";
import {
  AccommodationBody,
  AttemptListResponse,
  AttemptViewResponse,
  GradeBody,
  ListAttemptsQuery,
  SaveAnswersBody,
  StartResponse,
  SubmitBody,
  SubmitResponse,
} from "./schemas.ts";
import { quizAttemptAnswers } from "../../../db/schema/mod.ts";
import { asc, eq } from "drizzle-orm";

const tags = ["Quizzes"];
const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200));

/** Taking quizzes: start, resume, save, submit, review, grade. Under /api/quizzes. */
export function attemptRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);

  const answersOf = (attemptId: string) =>
    deps.db.select().from(quizAttemptAnswers).where(
      eq(quizAttemptAnswers.attemptId, attemptId),
    ).orderBy(asc(quizAttemptAnswers.position));

  app.put(
    "/accommodations",
    describeRoute({
      tags,
      summary:
        "Give a learner extra time in a program's timed quizzes (a time multiplier, e.g. 1.5; 1 removes it)",
      description:
        "The program's instructor or an admin. Applies to attempts started afterwards.",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Saved",
        schema: MessageResponse,
      }, [401, 403, 404, 422]),
    }),
    signedIn,
    requireRole("instructor", "admin"),
    validate("json", AccommodationBody),
    async (c) => {
      const input = c.req.valid("json");
      const actor = c.get("auth").user;
      const program = await getEditableProgram(deps, actor, input.programId);
      await setAccommodation(deps, actor, program, input);
      return c.json({
        success: true as const,
        message: input.timeMultiplier === 1
          ? "Extra time removed"
          : `Timed quizzes in this program now allow ${input.timeMultiplier}× the time`,
      });
    },
  );

  app.get(
    "/attempts/:attemptId",
    describeRoute({
      tags,
      summary:
        "Resume an attempt (questions in the same order, saved answers) or read its result once finished",
      description:
        "An attempt past its deadline is finalized with what was saved before it is returned.",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "The attempt",
        schema: AttemptViewResponse,
      }, [401, 404]),
    }),
    signedIn,
    validate("param", v.object({ attemptId: id })),
    async (c) => {
      const viewer = c.get("auth").user;
      const { attemptId } = c.req.valid("param");
      let found = await getAttempt(deps, viewer, attemptId, "read");
      if (await finalizeIfExpired(deps, found.attempt)) {
        found = await getAttempt(deps, viewer, attemptId, "read");
      }
      const answers = await answersOf(attemptId);
      if (found.attempt.status === "in_progress") {
        return c.json({
          success: true as const,
          ...inProgressView(found.attempt, answers, true),
        });
      }
      return c.json({
        success: true as const,
        attemptId,
        status: found.attempt.status,
        result: resultView(
          found.attempt,
          answers,
          reviewAllowedFor(viewer, found.quiz, found.program),
        ),
      });
    },
  );

  app.put(
    "/attempts/:attemptId/answers",
    describeRoute({
      tags,
      summary:
        "Save answers while taking a quiz (any subset, any number of times)",
      description:
        "`selectedAnswer` by question type: an option's text (multiple-choice, true-false), a list of option texts (multiple-answers), text (short-answer, essay), a number (numerical), an object from prompt to option (matching); null clears. After the deadline (plus a few seconds' grace) nothing is saved: 409 ATTEMPT_EXPIRED.",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Saved",
        schema: v.object({
          success: v.literal(true),
          attemptId: v.string(),
          saved: v.number(),
          savedAt: v.string(),
          expiresAt: v.nullable(v.string()),
        }),
      }, [401, 404, 409, 422]),
    }),
    signedIn,
    validate("param", v.object({ attemptId: id })),
    validate("json", SaveAnswersBody),
    async (c) => {
      const { attemptId } = c.req.valid("param");
      const saved = await saveAnswers(
        deps,
        c.get("auth").user,
        attemptId,
        c.req.valid("json").answers,
      );
      return c.json({
        success: true as const,
        attemptId,
        saved: saved.saved,
        savedAt: saved.savedAt.toISOString(),
        expiresAt: saved.attempt.expiresAt?.toISOString() ?? null,
      });
    },
  );

  app.post(
    "/attempts/:attemptId/grade",
    describeRoute({
      tags,
      summary:
        "Mark the essays of an attempt (program owner or admin); once nothing is left to mark, the result is final",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Marked",
        schema: SubmitResponse,
      }, [401, 403, 404, 409, 422]),
    }),
    signedIn,
    requireRole("instructor", "admin"),
    validate("param", v.object({ attemptId: id })),
    validate("json", GradeBody),
    async (c) => {
      const graded = await gradeAttempt(
        deps,
        c.get("auth").user,
        c.req.valid("param").attemptId,
        c.req.valid("json").grades,
      );
      return c.json({
        success: true as const,
        result: {
          ...resultView(
            graded.attempt,
            graded.answers,
            true,
            graded.outcome?.certificateId ?? null,
          ),
          finalGrade: graded.outcome?.finalGrade ?? null,
        },
      });
    },
  );

  app.post(
    "/:id/start",
    describeRoute({
      tags,
      summary:
        "Start an attempt (or get back the open one): questions without answers, in this attempt's order, with expiresAt",
      description:
        "Needs the program's examSimulator access; without it, the program's free questions as a practice attempt that never counts (402 when there are none). Retake rules: 409 RETAKE_NOT_ALLOWED or ATTEMPTS_EXHAUSTED, 429 QUIZ_COOLDOWN with retryAt.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Started (200 when an open attempt is returned)",
        schema: StartResponse,
      }, [401, 402, 404, 409, 429]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    async (c) => {
      const started = await startAttempt(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
      );
      return c.json(
        {
          success: true as const,
          ...inProgressView(started.attempt, started.answers, started.resumed),
        },
        started.resumed ? 200 : 201,
      );
    },
  );

  app.post(
    "/:id/submit",
    describeRoute({
      tags,
      summary: "Submit an attempt and get the result",
      description:
        "Answers sent here are saved first when in time; after the deadline they are ignored and the attempt is marked with what was saved. Submitting again returns the same result. Feedback, right answers and explanations appear when the quiz allows review.",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "The result",
        schema: SubmitResponse,
      }, [401, 404, 422]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    validate("json", SubmitBody),
    async (c) => {
      const viewer = c.get("auth").user;
      const body = c.req.valid("json");
      const done = await submitAttempt(
        deps,
        viewer,
        c.req.valid("param").id,
        body.attemptId,
        body.answers,
      );
      return c.json({
        success: true as const,
        result: {
          ...resultView(
            done.attempt,
            done.answers,
            reviewAllowedFor(viewer, done.quiz, done.program),
            done.outcome?.certificateId ?? null,
          ),
          ...(done.outcome ? { finalGrade: done.outcome.finalGrade } : {}),
          lateAnswersIgnored: done.lateAnswersIgnored,
        },
      });
    },
  );

  app.get(
    "/:id/attempts",
    describeRoute({
      tags,
      summary:
        "Attempts at a quiz: your own with your standing; the owner and admins see everyone's with per-question statistics",
      security: bearerAuth,
      responses: responses({
        status: 200,
        description: "Attempts, newest first",
        schema: AttemptListResponse,
      }, [401, 404, 422]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    validate("query", ListAttemptsQuery),
    async (c) => {
      const query = c.req.valid("query");
      const list = await listAttempts(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        {
          ...(query.userId ? { userId: query.userId } : {}),
          ...(query.status ? { status: query.status } : {}),
        },
        query,
      );
      return c.json({
        success: true as const,
        attempts: list.attempts,
        pagination: paginate(c, query, list.total),
        standing: list.standing,
        ...(list.questionStats ? { questionStats: list.questionStats } : {}),
      });
    },
  );

  return app;
}
