import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Deps } from "../../deps.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { rateLimitByIp } from "../../middleware/rate_limit.ts";
import type { AppEnv } from "../../types.ts";
import { toSessionUser, toUserResponse } from "../users/service.ts";
import { UserResponse } from "../users/schemas.ts";
import { oauthRoutes } from "./oauth_routes.ts";
import {
  EmailBody,
  LoginBody,
  RefreshBody,
  RefreshResponse,
  RegisterBody,
  RegisterResponse,
  ResetPasswordBody,
  TokenParam,
  TokensResponse,
} from "./schemas.ts";
import * as auth from "./service.ts";

const tags = ["Auth"];

export function authRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  // Every route that takes credentials or emailed tokens shares one per-IP budget. GET /me only reads
  // the signed-in user, which clients call on every page, so it is not counted.
  const limit = rateLimitByIp(deps, "auth", deps.config.authRateLimit);
  app.use(
    "*",
    (c, next) =>
      c.req.method === "GET" && c.req.path.endsWith("/auth/me")
        ? next()
        : limit(c, next),
  );

  app.post(
    "/register",
    describeRoute({
      tags,
      summary: "Create an account and send the verification email",
      responses: responses({
        status: 201,
        description: "Created",
        schema: RegisterResponse,
      }, [400, 409, 415, 422, 429]),
    }),
    validate("json", RegisterBody),
    async (c) => {
      const user = await auth.register(deps, c.req.valid("json"));
      return c.json({
        success: true,
        message: "Registration successful. Please verify your email.",
        userId: user.id,
      }, 201);
    },
  );

  app.get(
    "/verify-email/:token",
    describeRoute({
      tags,
      summary: "Verify an email address with the emailed token",
      responses: responses(
        { description: "Verified", schema: MessageResponse },
        [400, 422, 429],
      ),
    }),
    validate("param", TokenParam),
    async (c) => {
      await auth.verifyEmail(deps, c.req.valid("param").token);
      return c.json({ success: true, message: "Email verified successfully" });
    },
  );

  app.post(
    "/resend-verification",
    describeRoute({
      tags,
      summary:
        "Send a new verification link (same answer whether or not the account exists)",
      responses: responses(
        { description: "Accepted", schema: MessageResponse },
        [400, 415, 422, 429],
      ),
    }),
    validate("json", EmailBody),
    async (c) => {
      await auth.resendVerification(deps, c.req.valid("json").email);
      return c.json({
        success: true,
        message:
          "If that account exists and is not verified yet, a new verification link is on its way.",
      });
    },
  );

  app.post(
    "/login",
    describeRoute({
      tags,
      summary: "Sign in with email and password",
      responses: responses(
        { description: "Signed in", schema: TokensResponse },
        [400, 401, 403, 415, 422, 423, 429],
      ),
    }),
    validate("json", LoginBody),
    async (c) => {
      const issued = await auth.login(deps, c.req.valid("json"), {
        userAgent: c.req.header("user-agent"),
        ip: clientIp(c, deps.config.trustProxy),
      });
      return c.json({
        success: true,
        token: issued.token,
        refreshToken: issued.refreshToken,
        user: toSessionUser(issued.user),
      });
    },
  );

  app.post(
    "/refresh-token",
    describeRoute({
      tags,
      summary:
        "Exchange a refresh token for new tokens (the old one stops working)",
      responses: responses({
        description: "New tokens",
        schema: RefreshResponse,
      }, [400, 401, 403, 415, 422, 429]),
    }),
    validate("json", RefreshBody),
    async (c) => {
      const tokens = await auth.refresh(deps, c.req.valid("json").refreshToken);
      return c.json({ success: true, ...tokens });
    },
  );

  app.post(
    "/forgot-password",
    describeRoute({
      tags,
      summary:
        "Email a password reset link (same answer whether or not the account exists)",
      responses: responses(
        { description: "Accepted", schema: MessageResponse },
        [400, 415, 422, 429],
      ),
    }),
    validate("json", EmailBody),
    async (c) => {
      await auth.forgotPassword(deps, c.req.valid("json").email);
      return c.json({
        success: true,
        message: "If that account exists, a password reset link is on its way.",
      });
    },
  );

  app.post(
    "/reset-password/:token",
    describeRoute({
      tags,
      summary:
        "Set a new password with the emailed token; signs out every session",
      responses: responses({
        description: "Password changed",
        schema: MessageResponse,
      }, [400, 415, 422, 429]),
    }),
    validate("param", TokenParam),
    validate("json", ResetPasswordBody),
    async (c) => {
      await auth.resetPassword(
        deps,
        c.req.valid("param").token,
        c.req.valid("json").password,
      );
      return c.json({
        success: true,
        message: "Password reset successfully. Sign in with your new password.",
      });
    },
  );

  app.post(
    "/logout",
    describeRoute({
      tags,
      summary: "End the current session",
      security: bearerAuth,
      responses: responses({
        description: "Signed out",
        schema: MessageResponse,
      }, [401, 403, 429]),
    }),
    requireAuth(deps),
    async (c) => {
      await auth.logout(deps, c.get("auth").sessionId);
      return c.json({ success: true, message: "Logged out" });
    },
  );

  app.post(
    "/logout-all",
    describeRoute({
      tags,
      summary: "End every session of the current user",
      security: bearerAuth,
      responses: responses({
        description: "Signed out everywhere",
        schema: MessageResponse,
      }, [401, 403, 429]),
    }),
    requireAuth(deps),
    async (c) => {
      await auth.logoutAll(deps, c.get("auth").user.id);
      return c.json({ success: true, message: "Logged out of every session" });
    },
  );

  app.get(
    "/me",
    describeRoute({
      tags,
      summary: "The signed-in user",
      security: bearerAuth,
      responses: responses({ description: "The user", schema: UserResponse }, [
        401,
        403,
        429,
      ]),
    }),
    requireAuth(deps),
    (c) => c.json({ success: true, user: toUserResponse(c.get("auth").user) }),
  );

  app.route("/oauth", oauthRoutes(deps));
  return app;
}
