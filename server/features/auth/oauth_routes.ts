import { Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { OAUTH_PROVIDERS } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { badRequest } from "../../lib/errors.ts";
import { responses } from "../../lib/openapi.ts";
import { safeEqual } from "../../lib/secrets.ts";
import { validate } from "../../lib/validation.ts";
import type { AppEnv } from "../../types.ts";
import { toSessionUser } from "../users/service.ts";
import { beginOAuth, completeOAuth } from "./oauth.ts";
import { TokensResponse } from "./schemas.ts";

const COOKIE = "lectern_oauth";
const COOKIE_PATH = "/api/auth/oauth";
const ProviderParam = v.object({
  provider: v.picklist(OAUTH_PROVIDERS, "Must be google or github"),
});
const CallbackQuery = v.object({
  code: v.pipe(v.string(), v.nonEmpty("Is required"), v.maxLength(2000)),
  state: v.pipe(v.string(), v.nonEmpty("Is required"), v.maxLength(200)),
});
const tags = ["Auth"];

export function oauthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const secure = deps.config.appUrl.startsWith("https://");

  app.get(
    "/:provider",
    describeRoute({
      tags,
      summary:
        "Start signing in with Google or GitHub (redirects to the provider)",
      responses: {
        302: { description: "Redirect to the provider" },
        ...responses({ description: "", schema: v.any() }, [422, 429, 503]),
      },
    }),
    validate("param", ProviderParam),
    async (c) => {
      const { provider } = c.req.valid("param");
      const { url, state, codeVerifier } = beginOAuth(deps, provider);
      await setSignedCookie(
        c,
        COOKIE,
        `${provider}.${state}.${codeVerifier}`,
        deps.config.jwtSecret,
        {
          path: COOKIE_PATH,
          httpOnly: true,
          secure,
          sameSite: "Lax",
          maxAge: 600,
        },
      );
      return c.redirect(url, 302);
    },
  );

  app.get(
    "/:provider/callback",
    describeRoute({
      tags,
      summary:
        "The provider's redirect back: verifies state and PKCE, then returns tokens",
      responses: responses(
        { description: "Signed in", schema: TokensResponse },
        [400, 403, 422, 429, 503],
      ),
    }),
    validate("param", ProviderParam),
    validate("query", CallbackQuery),
    async (c) => {
      const { provider } = c.req.valid("param");
      const { code, state } = c.req.valid("query");
      const cookie = await getSignedCookie(c, deps.config.jwtSecret, COOKIE);
      deleteCookie(c, COOKIE, { path: COOKIE_PATH, secure });
      const [cookieProvider, cookieState, codeVerifier] =
        typeof cookie === "string" ? cookie.split(".") : [];
      if (
        cookieProvider !== provider || !cookieState || !codeVerifier ||
        !safeEqual(cookieState, state)
      ) {
        throw badRequest(
          "OAUTH_STATE_MISMATCH",
          "The sign-in could not be verified; start again",
        );
      }
      const issued = await completeOAuth(deps, provider, code, codeVerifier, {
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
  return app;
}
