import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Deps } from "../../deps.ts";
import { parseJsonOrForm } from "../../lib/forms.ts";
import {
  bearerAuth,
  MessageResponse,
  requestBody,
  responses,
} from "../../lib/openapi.ts";
import { storeUpload } from "../media/service.ts";
import { mediaUrl } from "../media/urls.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { rateLimitByIp } from "../../middleware/rate_limit.ts";
import type { AppEnv } from "../../types.ts";
import {
  ChangePasswordBody,
  DeleteAccountBody,
  ProfileResponse,
  UpdateProfileBody,
  UserResponse,
} from "./schemas.ts";
import * as users from "./service.ts";
import {
  DashboardResponse,
  EnrolledProgramsQuery,
  EnrolledProgramsResponse,
  StatsSchema,
} from "../progress/schemas.ts";
import {
  enrolledPrograms,
  learnerDashboard,
  learnerStats,
} from "../progress/service.ts";
import { currentSubscription } from "../subscriptions/current.ts";
import { paginate } from "../../lib/pagination.ts";
import * as v from "valibot";

const tags = ["Users"];

export function userRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));
  // The routes that check the current password share the auth routes' per-IP budget, so a stolen
  // access token cannot be used to guess the password without limit.
  const passwordChecks = rateLimitByIp(deps, "auth", deps.config.authRateLimit);

  app.get(
    "/profile",
    describeRoute({
      tags,
      summary: "The signed-in user's profile",
      security: bearerAuth,
      responses: responses(
        { description: "Profile", schema: ProfileResponse },
        [
          401,
          403,
        ],
      ),
    }),
    async (c) => {
      const user = c.get("auth").user;
      const [stats, subscription] = await Promise.all([
        learnerStats(deps, user.id),
        currentSubscription(deps.db, user.id),
      ]);
      return c.json({
        success: true,
        user: {
          ...users.toUserResponse(user),
          subscriptionTier: subscription?.planId ?? "free",
          subscriptionExpiry: subscription?.currentPeriodEnd.toISOString() ??
            null,
          stats: {
            programsEnrolled: stats.programsEnrolled,
            quizzesTaken: stats.quizzesTaken,
            certificatesEarned: stats.certificatesEarned,
            totalPoints: stats.totalPoints,
            streak: stats.currentStreak,
          },
        },
      });
    },
  );

  app.get(
    "/stats",
    describeRoute({
      tags,
      summary:
        "Your learning statistics: programs, points, streaks (UTC days), learning time",
      security: bearerAuth,
      responses: responses({
        description: "Statistics",
        schema: v.object({ success: v.literal(true), stats: StatsSchema }),
      }, [401]),
    }),
    async (c) =>
      c.json({
        success: true,
        stats: await learnerStats(deps, c.get("auth").user.id),
      }),
  );

  app.get(
    "/enrolled-programs",
    describeRoute({
      tags,
      summary:
        "The programs you are enrolled in, most recently active first, with progress",
      security: bearerAuth,
      responses: responses({
        description: "Enrolled programs",
        schema: EnrolledProgramsResponse,
      }, [401, 422]),
    }),
    validate("query", EnrolledProgramsQuery),
    async (c) => {
      const query = c.req.valid("query");
      const result = await enrolledPrograms(deps, c.get("auth").user.id, query);
      return c.json({
        success: true,
        programs: result.programs,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.put(
    "/profile",
    describeRoute({
      tags,
      summary:
        "Update name, bio, avatar, social links and preferences (JSON, or multipart with an `avatar` image)",
      security: bearerAuth,
      requestBody: requestBody(UpdateProfileBody, {
        files: { avatar: "A profile picture (sniffed, EXIF stripped)" },
      }),
      responses: responses({
        description: "Updated profile",
        schema: UserResponse,
      }, [400, 401, 403, 413, 415, 422]),
    }),
    async (c) => {
      const me = c.get("auth").user;
      const { input, files } = await parseJsonOrForm(c, UpdateProfileBody, {
        json: ["socialLinks", "preferences"],
      });
      const changes = { ...input };
      if (files.avatar) {
        const stored = await storeUpload(deps, me, files.avatar, {
          visibility: "public",
          imagesOnly: true,
        });
        changes.avatar = mediaUrl(deps.config.appUrl, stored.id, "thumbnail");
      }
      const user = await users.updateProfile(deps, me.id, changes);
      return c.json({ success: true, user: users.toUserResponse(user) });
    },
  );

  app.post(
    "/change-password",
    describeRoute({
      tags,
      summary:
        "Change the password (current one required); other sessions are signed out",
      security: bearerAuth,
      responses: responses(
        { description: "Changed", schema: MessageResponse },
        [400, 401, 403, 415, 422],
      ),
    }),
    passwordChecks,
    validate("json", ChangePasswordBody),
    async (c) => {
      const { user, sessionId } = c.get("auth");
      await users.changePassword(deps, user.id, c.req.valid("json"), sessionId);
      return c.json({
        success: true,
        message: "Password changed. Other sessions have been signed out.",
      });
    },
  );

  app.delete(
    "/delete-account",
    describeRoute({
      tags,
      summary:
        "Delete the account (password required): personal data is anonymized, sessions end",
      security: bearerAuth,
      responses: responses(
        { description: "Deleted", schema: MessageResponse },
        [400, 401, 403, 415, 422],
      ),
    }),
    passwordChecks,
    validate("json", DeleteAccountBody),
    async (c) => {
      await users.deleteAccount(
        deps,
        c.get("auth").user.id,
        c.req.valid("json").password,
      );
      return c.json({
        success: true,
        message: "Your account has been deleted.",
      });
    },
  );
  return app;
}

/** 001's learner dashboard, at /api/user/dashboard. */
export function learnerDashboardRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get(
    "/dashboard",
    describeRoute({
      tags,
      summary:
        "Your dashboard: programs under way and completed, recent activity, statistics",
      security: bearerAuth,
      responses: responses({
        description: "Dashboard",
        schema: DashboardResponse,
      }, [401]),
    }),
    requireAuth(deps),
    async (c) =>
      c.json({
        success: true,
        dashboard: await learnerDashboard(deps, c.get("auth").user.id),
      }),
  );
  return app;
}
