import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import {
  CertificateNotFoundPage,
  CertificatePage,
  TooManyLookupsPage,
} from "../../../templates/pages/certificate.tsx";
import type { Deps } from "../../deps.ts";
import { wantsJson } from "../../lib/accept.ts";
import { AppError } from "../../lib/errors.ts";
import { GenerationCache } from "../../lib/generation_cache.ts";
import { rateLimitByIp } from "../../middleware/rate_limit.ts";
import type { AppEnv } from "../../types.ts";
import { verifyUrlOf } from "./announce.ts";
import { certificateVerifier, verificationJson } from "./verification.ts";

/** `/verify/:code` for people (HTML) and scripts (JSON), and the school's public key set. */
export function certificatePageRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const verify = certificateVerifier(deps);
  const appUrl = deps.config.appUrl;
  const school = deps.config.school.name;
  const jwksUrl = `${appUrl}/.well-known/jwks.json`;
  const limit = rateLimitByIp(deps, "verify", deps.config.verify.rateLimit);
  // Rendering the page costs more than finding the certificate: keep the HTML until the next write,
  // and render again when the status moved on by itself (expiry).
  const pages = new GenerationCache<{ state: string; html: string }>(
    deps.writes,
    { ttlMs: 60_000, maxEntries: 2_000 },
  );

  app.get("/verify/:code", async (c) => {
    const code = c.req.param("code");
    // One URL, two representations: caches must key on Accept. Status changes (revoke, reissue,
    // expiry) must show at once, so nothing is kept without asking again.
    c.header("Vary", "Accept");
    c.header("Cache-Control", "no-cache");
    try {
      await limit(c, async () => {});
      const found = await verify(c, code);
      if (wantsJson(c)) {
        if (!found) {
          throw new AppError(
            404,
            "CERTIFICATE_NOT_FOUND",
            "No certificate has this code",
          );
        }
        return c.json(verificationJson(appUrl, found));
      }
      if (!found) {
        return c.html(
          <CertificateNotFoundPage code={code} school={school} />,
          404,
        );
      }
      const key = found.certificate.code;
      const cached = pages.get(key);
      if (cached?.state === found.state) return c.html(cached.html);
      const generation = pages.generation;
      const html = await (
        <CertificatePage
          state={found.state}
          certificate={found.certificate}
          replacement={found.replacement
            ? {
              code: found.replacement.code,
              url: verifyUrlOf(appUrl, found.replacement.code),
            }
            : undefined}
          pageUrl={verifyUrlOf(appUrl, found.certificate.code)}
          jwksUrl={jwksUrl}
          keyId={deps.signer.kid}
          publicKey={deps.signer.publicJwk.x ?? ""}
        />
      ).toString();
      pages.set(key, { state: found.state, html }, generation);
      return c.html(html);
    } catch (error) {
      if (
        !(error instanceof AppError) || error.status !== 429 || wantsJson(c)
      ) throw error;
      const retryAfter = Number(error.details.retryAfter ?? 60);
      c.header("Retry-After", String(retryAfter));
      return c.html(
        <TooManyLookupsPage
          school={school}
          retryAfter={retryAfter}
          message={error.message}
        />,
        429,
      );
    }
  });

  app.get(
    "/.well-known/jwks.json",
    describeRoute({
      tags: ["Certificates"],
      summary: "The school's public keys for signed credentials (JWKS)",
      responses: {
        200: {
          description: "A JSON Web Key Set with the Ed25519 key",
          content: { "application/json": { schema: { type: "object" } } },
        },
      },
    }),
    (c) => {
      c.header("Cache-Control", "public, max-age=3600");
      return c.json({ keys: [deps.signer.publicJwk] });
    },
  );

  return app;
}
