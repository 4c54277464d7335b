/** Domain errors: services throw these; `onError` turns them into the contract's envelope. */
export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (
  code: string,
  message: string,
  details?: ErrorDetails,
) => new AppError(400, code, message, details);

export const unauthorized = (code: string, message: string) =>
  new AppError(401, code, message);

export const forbidden = (code: string, message: string) =>
  new AppError(403, code, message);

export const notFound = (what: string) =>
  new AppError(404, "NOT_FOUND", `${what} not found`);

export const conflict = (
  code: string,
  message: string,
  details?: ErrorDetails,
) => new AppError(409, code, message, details);

/** 422 with per-field messages, e.g. `{ email: "Must be a valid email" }`. */
export const validationFailed = (
  fields: Record<string, string>,
  message = "Some fields are invalid",
) => new AppError(422, "VALIDATION_FAILED", message, { fields });

export const tooManyRequests = (
  retryAfterSeconds: number,
  message = "Too many requests, try again later",
) =>
  new AppError(
    429,
    "RATE_LIMITED",
    message,
    {
      retryAfter: retryAfterSeconds,
      resetAt: new Date(Date.now() + retryAfterSeconds * 1000).toISOString(),
    },
    { "Retry-After": String(retryAfterSeconds) },
  );

/** 503 for a feature whose external service has no configuration; names the variables to set. */
export const notConfigured = (feature: string, envVars: string[]) =>
  new AppError(
    503,
    "SERVICE_NOT_CONFIGURED",
    `${feature} is not configured on this server: set ${envVars.join(" and ")}`,
    { env: envVars },
  );
