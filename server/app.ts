import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { openAPIRouteHandler } from "hono-openapi";
import type { Deps } from "./deps.ts";
import { authRoutes } from "./features/auth/routes.ts";
import { healthRoutes } from "./features/health/routes.ts";
import { pageRoutes } from "./features/pages/routes.tsx";
import { learnerDashboardRoutes, userRoutes } from "./features/users/routes.ts";
import { enrollmentRoutes } from "./features/enrollments/routes.ts";
import { paymentRoutes } from "./features/payments/routes.ts";
import { progressRoutes } from "./features/progress/routes.ts";
import { subscriptionRoutes } from "./features/subscriptions/routes.ts";
import { quizItemRoutes, quizRoutes } from "./features/quizzes/routes.ts";
import { attemptRoutes } from "./features/quizzes/attempt_routes.ts";
import { bankRoutes } from "./features/quizzes/bank_routes.ts";
import { MAX_IMPORT_BYTES } from "./features/quizzes/import.ts";
import { categoryRoutes } from "./features/categories/routes.ts";
import {
  adminCertificateRoutes,
  certificateRoutes,
  myCertificateRoutes,
} from "./features/certificates/routes.ts";
import { certificatePageRoutes } from "./features/certificates/page_routes.tsx";
import { curriculumRoutes } from "./features/curriculum/routes.ts";
import { instructorRoutes } from "./features/instructors/routes.ts";
import { instructorApplicationRoutes } from "./features/instructors/application_routes.ts";
import { adminRoutes } from "./features/admin/routes.ts";
import {
  notificationRoutes,
  preferenceRoutes,
} from "./features/notifications/routes.ts";
import {
  mediaFileRoutes,
  programMediaRoutes,
} from "./features/media/routes.ts";
import { programRoutes } from "./features/programs/routes.ts";
import { commentRoutes } from "./features/practice/comment_routes.ts";
import {
  practiceRoutes,
  signedMediaRoutes,
} from "./features/practice/routes.ts";
import { relationshipRoutes } from "./features/relationships/routes.ts";
import { tutoringRoutes } from "./features/tutoring/routes.ts";
import { messageRoutes } from "./features/messages/routes.ts";
import { peopleRoutes } from "./features/users/people_routes.ts";
import { reviewRoutes } from "./features/reviews/routes.ts";
import { searchRoutes } from "./features/search/routes.ts";
import { recommendationRoutes } from "./features/tutor/recommendation_routes.ts";
import { tutorRoutes } from "./features/tutor/routes.ts";
import { AppError } from "./lib/errors.ts";
import { requestLog } from "./middleware/request_log.ts";
import { API_VERSION } from "./version.ts";
import { clusterAware } from "./middleware/cluster.ts";
import type { AppEnv } from "./types.ts";

export { API_VERSION };

/** Name and message for the log, without query parameters (they can hold personal data). */
function describeError(error: unknown): string {
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return text.replace(/\nparams:[\s\S]*$/, "\nparams: [redacted]").slice(
    0,
    2000,
  );
}

function errorBody(
  requestId: string,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
) {
  return {
    success: false as const,
    error: { code, message, details },
    requestId,
  };
}

/** The whole HTTP surface, built from its dependencies: main.ts and every test use this. */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>();

  app.use("*", requestLog(deps.logger));
  const secure = secureHeaders();
  // Media are embedded by front ends on other origins (<audio>, <video>, <img>): the default
  // same-origin resource policy would stop the browser from using them.
  const mediaSecure = secureHeaders({
    crossOriginResourcePolicy: "cross-origin",
  });
  app.use(
    "*",
    (c, next) =>
      c.req.path.startsWith("/media/") ? mediaSecure(c, next) : secure(c, next),
  );
  app.use("*", clusterAware(deps));
  if (deps.config.corsOrigins.length > 0) {
    app.use(
      "/api/*",
      cors({
        origin: deps.config.corsOrigins,
        credentials: false,
        maxAge: 600,
        // Browsers show cross-origin scripts only the headers named here.
        exposeHeaders: [
          "X-Request-Id",
          "X-Lectern-Txid",
          "Link",
          "Retry-After",
        ],
      }),
    );
  }
  const limitTo = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError(
          413,
          "PAYLOAD_TOO_LARGE",
          `The request body is larger than ${maxSize} bytes`,
          { maxBytes: maxSize },
        );
      },
    });
  const jsonLimit = limitTo(deps.config.bodyLimitBytes);
  const uploadLimit = limitTo(deps.config.uploadLimitBytes);
  // A bank file may come as a raw body; the route itself refuses more than 10 MB of file.
  const importLimit = limitTo(MAX_IMPORT_BYTES + 64 * 1024);
  app.use(
    "*",
    (c, next) =>
      c.req.path === "/api/quizzes/import"
        ? importLimit(c, next)
        : /^multipart\/form-data/i.test(c.req.header("content-type") ?? "")
        ? uploadLimit(c, next)
        : jsonLimit(c, next),
  );

  app.route("/", healthRoutes(deps));
  app.route("/api/auth", authRoutes(deps));
  app.route("/api/users", userRoutes(deps));
  app.route("/api/user", learnerDashboardRoutes(deps));
  app.route("/api/users", myCertificateRoutes(deps));
  app.route("/api/user", myCertificateRoutes(deps));
  app.route("/api/programs", programRoutes(deps));
  app.route("/api/programs", curriculumRoutes(deps));
  app.route("/api/programs", reviewRoutes(deps));
  app.route("/api/programs", programMediaRoutes(deps));
  app.route("/api/programs", enrollmentRoutes(deps));
  app.route("/api/progress", progressRoutes(deps));
  app.route("/api/payments", paymentRoutes(deps));
  app.route("/api/subscriptions", subscriptionRoutes(deps));
  app.route("/api/quizzes", quizRoutes(deps));
  app.route("/api/quizzes", bankRoutes(deps));
  app.route("/api/quizzes", attemptRoutes(deps));
  app.route("/api/quizzes", quizItemRoutes(deps));
  app.route("/api/certificates", certificateRoutes(deps));
  app.route("/api/admin/certificates", adminCertificateRoutes(deps));
  app.route("/api/admin", adminRoutes(deps));
  app.route("/api/notifications", notificationRoutes(deps));
  app.route("/api/user", preferenceRoutes(deps));
  app.route("/api/categories", categoryRoutes(deps));
  app.route("/api/instructors", instructorApplicationRoutes(deps));
  app.route("/api/instructors", instructorRoutes(deps));
  app.route("/api/search", searchRoutes(deps));
  app.route("/api/relationships", relationshipRoutes(deps));
  app.route("/api/videos", practiceRoutes(deps));
  app.route("/api/comments", commentRoutes(deps));
  app.route("/api/tutoring", tutoringRoutes(deps));
  app.route("/api/messages", messageRoutes(deps));
  // Last under /api/users: its /:id must not shadow /profile, /stats and the rest.
  app.route("/api/users", peopleRoutes(deps));
  app.route("/api/ai", recommendationRoutes(deps));
  app.route("/api/ai", tutorRoutes(deps));
  app.route("/", signedMediaRoutes(deps));
  app.route("/", mediaFileRoutes(deps));
  app.route("/", certificatePageRoutes(deps));
  app.route("/", pageRoutes(deps));

  app.get(
    "/openapi.json",
    openAPIRouteHandler(app, {
      documentation: {
        openapi: "3.1.0",
        info: {
          title: "Lectern API",
          version: API_VERSION,
          description:
            "A self-hosted learning platform. Errors share one envelope: {success:false, error:{code,message,details}, requestId}.",
        },
        servers: [{ url: deps.config.appUrl }],
        components: {
          securitySchemes: {
            bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
          },
        },
      },
      exclude: ["/openapi.json", "/docs", /^\/(verify-email|reset-password)\//],
    }),
  );
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Lectern API" }));

  app.notFound((c) =>
    c.json(
      errorBody(
        c.get("requestId"),
        "NOT_FOUND",
        `No route for ${c.req.method} ${c.req.path}`,
      ),
      404,
    )
  );

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? "unknown";
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.headers)) {
        c.header(name, value);
      }
      return c.json(
        errorBody(requestId, error.code, error.message, error.details),
        error.status as ContentfulStatusCode,
      );
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = error.status === 400
        ? "BAD_REQUEST"
        : `HTTP_${error.status}`;
      return c.json(
        errorBody(
          requestId,
          code,
          error.message || "The request could not be processed",
        ),
        error.status,
      );
    }
    deps.logger.error("unhandled error", {
      requestId,
      error: describeError(error),
    });
    return c.json(
      errorBody(
        requestId,
        "INTERNAL_ERROR",
        "Something went wrong on our side; try again later",
      ),
      500,
    );
  });

  return app;
}
