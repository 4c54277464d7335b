import { Hono } from "hono";
import { requestActor } from "../audit/service.ts";
import { describeRoute } from "hono-openapi";
import type { Deps } from "../../deps.ts";
import { AppError, notFound } from "../../lib/errors.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { idempotent } from "../../middleware/idempotency.ts";
import { rateLimitByIp } from "../../middleware/rate_limit.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { ensurePdf } from "./announce.ts";
import {
  AdminListQuery,
  AdminListResponse,
  CodeParam,
  DetailResponse,
  GenerateBody,
  IdParam,
  IssuedResponse,
  ManualIssueBody,
  ReissueBody,
  ReissuedResponse,
  RevokeBody,
  UserListQuery,
  UserListResponse,
  VerifyResponse,
} from "./schemas.ts";
import {
  findCertificate,
  generateCertificate,
  getCertificateFor,
  issueManually,
  listCertificates,
  reissueCertificate,
  revokeCertificate,
} from "./service.ts";
import { certificateVerifier, verificationJson } from "./verification.ts";
import { certificateDetail, certificateListItem } from "./views.ts";

const tags = ["Certificates"];

const issuedMessage = (created: boolean) =>
  created
    ? "Certificate issued"
    : "The learner already holds a valid certificate for this program";

/** /api/certificates: verification (public), details, the PDF and the signed credential. */
export function certificateRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const verify = certificateVerifier(deps);

  app.get(
    "/verify/:code",
    describeRoute({
      tags,
      summary: "Verify a certificate by its code (public)",
      description:
        "Any case, with or without dashes. `status` is valid, revoked, superseded or expired; an unknown code is 404. Rate limited per IP; repeated misses are slowed, then refused.",
      responses: responses({
        description: "The certificate's status",
        schema: VerifyResponse,
      }, [404, 429]),
    }),
    rateLimitByIp(deps, "verify", deps.config.verify.rateLimit),
    validate("param", CodeParam),
    async (c) => {
      const found = await verify(c, c.req.valid("param").code);
      if (!found) {
        throw new AppError(
          404,
          "CERTIFICATE_NOT_FOUND",
          "No certificate has this code",
        );
      }
      c.header("Cache-Control", "no-cache");
      return c.json(verificationJson(deps.config.appUrl, found));
    },
  );

  app.post(
    "/generate",
    describeRoute({
      tags,
      summary:
        "Issue a certificate for a passed exam attempt or a met completion rule (admin)",
      description:
        "Checked on the server: the attempt must be the learner's passed exam attempt in the program, or without one the learner must meet the program's certificate rule. A learner who already holds a valid certificate keeps it (200, created false). Honours Idempotency-Key. Passing a quiz issues certificates automatically; this is for repairs and integrations.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Issued (or 200 with the existing one)",
        schema: IssuedResponse,
      }, [401, 403, 404, 409, 422]),
    }),
    signedIn,
    requireRole("admin"),
    validate("json", GenerateBody),
    idempotent(deps),
    async (c) => {
      const input = c.req.valid("json");
      const result = await generateCertificate(
        deps,
        requestActor(c, deps),
        input,
      );
      return c.json({
        success: true as const,
        created: result.created,
        message: issuedMessage(result.created),
        certificate: certificateDetail(deps.config.appUrl, result.certificate),
      }, result.created ? 201 : 200);
    },
  );

  app.get(
    "/:id",
    describeRoute({
      tags,
      summary: "A certificate's details",
      description:
        "The learner it belongs to, the program's instructor, or an admin.",
      security: bearerAuth,
      responses: responses({
        description: "The certificate",
        schema: DetailResponse,
      }, [401, 404]),
    }),
    signedIn,
    validate("param", IdParam),
    async (c) => {
      const certificate = await getCertificateFor(
        deps.db,
        c.get("auth").user,
        c.req.valid("param").id,
      );
      const replacedBy = certificate.supersededById
        ? (await findCertificate(deps.db, certificate.supersededById)).code
        : undefined;
      return c.json({
        success: true as const,
        certificate: certificateDetail(deps.config.appUrl, certificate, {
          replacedByCode: replacedBy,
        }),
      });
    },
  );

  app.get(
    "/:id/download",
    describeRoute({
      tags,
      summary: "The certificate as a PDF",
      description:
        "The learner it belongs to, or an admin. The document rendered at issue, unchanged since; `ETag` is its SHA-256.",
      security: bearerAuth,
      responses: {
        ...responses({ description: "", schema: DetailResponse }, [401, 404]),
        200: {
          description: "The PDF",
          content: {
            "application/pdf": { schema: { type: "string", format: "binary" } },
          },
        },
      },
    }),
    signedIn,
    validate("param", IdParam),
    async (c) => {
      const certificate = await ensurePdf(
        deps,
        await getCertificateFor(
          deps.db,
          c.get("auth").user,
          c.req.valid("param").id,
          { instructorMaySee: false },
        ),
      );
      const file = await deps.storage.get(certificate.pdfKey!);
      if (!file) throw notFound("Certificate file");
      return c.body(file.body, 200, {
        "Content-Type": "application/pdf",
        "Content-Length": String(file.size),
        "Content-Disposition":
          `attachment; filename="certificate-${certificate.code}.pdf"`,
        ETag: `"${certificate.pdfSha256}"`,
        "Cache-Control": "private, max-age=3600",
      });
    },
  );

  app.get(
    "/:id/credential",
    describeRoute({
      tags,
      summary: "The signed Open Badges 3.0 credential (VC-JWT)",
      description:
        "The learner it belongs to, or an admin. A compact JWS (EdDSA) whose `vc` claim is an OpenBadgeCredential; verify it against /.well-known/jwks.json, or offline with `deno task cli certificates verify FILE`.",
      security: bearerAuth,
      responses: {
        ...responses({ description: "", schema: DetailResponse }, [401, 404]),
        200: {
          description: "The credential",
          content: { "application/vc+jwt": { schema: { type: "string" } } },
        },
      },
    }),
    signedIn,
    validate("param", IdParam),
    async (c) => {
      const certificate = await getCertificateFor(
        deps.db,
        c.get("auth").user,
        c.req.valid("param").id,
        { instructorMaySee: false },
      );
      return c.body(certificate.credential, 200, {
        "Content-Type": "application/vc+jwt",
        "Content-Disposition":
          `attachment; filename="certificate-${certificate.code}.jwt"`,
        "Cache-Control": "private, no-store",
      });
    },
  );

  return app;
}

/** `GET /certificates` under /api/users (002) and /api/user (001): the learner's own. */
export function myCertificateRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get(
    "/certificates",
    describeRoute({
      tags,
      summary: "My certificates, newest first",
      description:
        "Valid, expired and revoked ones (a reissued certificate is listed once, as its replacement). `shareableLink` is the public verification page.",
      security: bearerAuth,
      responses: responses({
        description: "The certificates",
        schema: UserListResponse,
      }, [401, 422]),
    }),
    requireAuth(deps),
    validate("query", UserListQuery),
    async (c) => {
      const query = c.req.valid("query");
      const list = await listCertificates(deps.db, {
        ...query,
        userId: c.get("auth").user.id,
        withoutSuperseded: true,
      });
      return c.json({
        success: true as const,
        certificates: list.rows.map((row) =>
          certificateListItem(deps.config.appUrl, row)
        ),
        pagination: paginate(c, query, list.total),
      });
    },
  );
  return app;
}

/** /api/admin/certificates: list, manual issue (001), revoke and reissue. */
export function adminCertificateRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps), requireRole("admin"));

  app.get(
    "/",
    describeRoute({
      tags,
      summary: "Every certificate, newest first (admin)",
      description:
        "Filter by learner, program, status as verifiers see it (valid, expired, revoked, superseded) or part of the name or code.",
      security: bearerAuth,
      responses: responses({
        description: "The certificates",
        schema: AdminListResponse,
      }, [401, 403, 422]),
    }),
    validate("query", AdminListQuery),
    async (c) => {
      const query = c.req.valid("query");
      const list = await listCertificates(deps.db, query);
      return c.json({
        success: true as const,
        certificates: list.rows.map((row) =>
          certificateDetail(deps.config.appUrl, row)
        ),
        pagination: paginate(c, query, list.total),
      });
    },
  );

  app.post(
    "/issue",
    describeRoute({
      tags,
      summary: "Issue a certificate manually, with a reason (admin)",
      description:
        "No rule is checked: the reason is kept on the record. A learner who already holds a valid certificate for the program keeps it (200, created false). Honours Idempotency-Key.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Issued (or 200 with the existing one)",
        schema: IssuedResponse,
      }, [401, 403, 404, 409, 422]),
    }),
    validate("json", ManualIssueBody),
    idempotent(deps),
    async (c) => {
      const result = await issueManually(
        deps,
        requestActor(c, deps),
        c.req.valid("json"),
      );
      return c.json({
        success: true as const,
        created: result.created,
        message: issuedMessage(result.created),
        certificate: certificateDetail(deps.config.appUrl, result.certificate),
      }, result.created ? 201 : 200);
    },
  );

  app.post(
    "/:id/revoke",
    describeRoute({
      tags,
      summary: "Revoke a certificate (admin; id or code)",
      description:
        "The reason is shown on the verification page and emailed to the learner.",
      security: bearerAuth,
      responses: responses({
        description: "Revoked",
        schema: DetailResponse,
      }, [401, 403, 404, 409, 422]),
    }),
    validate("param", IdParam),
    validate("json", RevokeBody),
    async (c) => {
      const revoked = await revokeCertificate(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json").reason,
      );
      return c.json({
        success: true as const,
        certificate: certificateDetail(deps.config.appUrl, revoked),
      });
    },
  );

  app.post(
    "/:id/reissue",
    describeRoute({
      tags,
      summary:
        "Reissue a certificate with a new code and PDF, optionally a corrected name (admin; id or code)",
      description:
        "The old record becomes superseded and its page points to the new one; the learner is emailed. A revoked certificate is reissued only with `force: true`.",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Reissued",
        schema: ReissuedResponse,
      }, [401, 403, 404, 409, 422]),
    }),
    validate("param", IdParam),
    validate("json", ReissueBody),
    async (c) => {
      const result = await reissueCertificate(
        deps,
        requestActor(c, deps),
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      const appUrl = deps.config.appUrl;
      return c.json({
        success: true as const,
        message: `Reissued as ${result.certificate.code}`,
        certificate: certificateDetail(appUrl, result.certificate),
        replaced: certificateDetail(appUrl, result.replaced, {
          replacedByCode: result.certificate.code,
        }),
      }, 201);
    },
  );

  return app;
}
