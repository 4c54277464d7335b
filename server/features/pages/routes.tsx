import { Hono } from "hono";
import * as v from "valibot";
import {
  ResetPasswordForm,
  ResetPasswordResult,
  VerifyEmailResult,
} from "../../../templates/pages/account.tsx";
import type { Deps } from "../../deps.ts";
import { wantsJson } from "../../lib/accept.ts";
import { AppError } from "../../lib/errors.ts";
import { MIN_PASSWORD_LENGTH } from "../../lib/passwords.ts";
import { rateLimitByIp } from "../../middleware/rate_limit.ts";
import type { AppEnv } from "../../types.ts";
import { resetPassword, verifyEmail } from "../auth/service.ts";
import { TokenParam } from "../auth/schemas.ts";
import { findOneTimeToken } from "../auth/one_time_tokens.ts";

const validToken = (token: string) =>
  v.safeParse(TokenParam, { token }).success;

/** The pages people reach from email links. Errors render as pages, not JSON envelopes. */
export function pageRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", rateLimitByIp(deps, "auth", deps.config.authRateLimit));

  app.get("/verify-email/:token", async (c) => {
    const token = c.req.param("token");
    try {
      if (!validToken(token)) {
        throw new AppError(
          400,
          "INVALID_VERIFICATION_TOKEN",
          "This link is not valid",
        );
      }
      await verifyEmail(deps, token);
    } catch (error) {
      if (!(error instanceof AppError) || wantsJson(c)) throw error;
      return c.html(
        <VerifyEmailResult ok={false} message={error.message} />,
        error.status as 400,
      );
    }
    const message = "Email verified successfully";
    return wantsJson(c)
      ? c.json({ success: true, message })
      : c.html(<VerifyEmailResult ok message={message} />);
  });

  app.get("/reset-password/:token", async (c) => {
    const token = c.req.param("token");
    const usable = validToken(token) &&
      (await findOneTimeToken(deps.db, token, "reset_password")) !== null;
    if (wantsJson(c)) {
      if (!usable) {
        throw new AppError(
          400,
          "INVALID_RESET_TOKEN",
          "This password reset link is invalid, used or expired",
        );
      }
      return c.json({
        success: true,
        message:
          "POST the new password as JSON to /api/auth/reset-password/:token",
      });
    }
    if (!usable) {
      return c.html(
        <ResetPasswordResult
          ok={false}
          message="This password reset link is invalid, used or expired. Ask for a new one."
        />,
        400,
      );
    }
    return c.html(
      <ResetPasswordForm action={c.req.path} minLength={MIN_PASSWORD_LENGTH} />,
    );
  });

  app.post("/reset-password/:token", async (c) => {
    const token = c.req.param("token");
    const form = await c.req.parseBody();
    const password = typeof form.password === "string" ? form.password : "";
    const again = (error: string, status: 400 | 422) =>
      c.html(
        <ResetPasswordForm
          action={c.req.path}
          error={error}
          minLength={MIN_PASSWORD_LENGTH}
        />,
        status,
      );
    if (password !== form.confirm) {
      return again("The two passwords are not the same", 422);
    }
    try {
      if (!validToken(token)) {
        throw new AppError(
          400,
          "INVALID_RESET_TOKEN",
          "This link is not valid",
        );
      }
      await resetPassword(deps, token, password);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.status === 422) {
        const fields = (error.details.fields ?? {}) as Record<string, string>;
        return again(
          `Password: ${Object.values(fields)[0] ?? error.message}`,
          422,
        );
      }
      return c.html(
        <ResetPasswordResult ok={false} message={error.message} />,
        400,
      );
    }
    return c.html(
      <ResetPasswordResult
        ok
        message="Your password was changed and every device was signed out. Sign in with the new one."
      />,
    );
  });
  return app;
}
