import { resolver } from "hono-openapi";
import * as v from "valibot";

/** The error envelope, documented once and referenced by every route. */
export const ErrorResponse = v.object({
  success: v.literal(false),
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.record(v.string(), v.unknown()),
  }),
  requestId: v.string(),
});

export const MessageResponse = v.object({
  success: v.literal(true),
  message: v.string(),
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (INVALID_JSON, bad token)",
  401: "Missing, invalid or expired credentials",
  403: "Not allowed (role, ban, unverified email)",
  404: "Not found",
  409: "Conflict with the current state",
  415: "The body is not JSON",
  422: "Validation failed; details.fields names each problem",
  423: "Account locked after repeated failures",
  429: "Rate limited; see Retry-After",
  503: "The feature's external service is not configured",
};

const json = (schema: v.GenericSchema) => ({
  "application/json": { schema: resolver(schema) },
});

/** `responses` for describeRoute: the success body plus the listed error statuses in the envelope. */
export function responses(
  success: { status?: number; description: string; schema: v.GenericSchema },
  errors: number[],
) {
  const out: Record<
    number,
    { description: string; content: ReturnType<typeof json> }
  > = {
    [success.status ?? 200]: {
      description: success.description,
      content: json(success.schema),
    },
  };
  for (const status of errors) {
    out[status] = {
      description: ERROR_DESCRIPTIONS[status] ?? "Error",
      content: json(ErrorResponse),
    };
  }
  return out;
}

export const bearerAuth = [{ bearerAuth: [] }];
