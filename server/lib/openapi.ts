import { resolver } from "hono-openapi";
import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";

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
  402: "A paid feature not bought; details say what would grant it",
  403: "Not allowed (role, ban, unverified email)",
  404: "Not found",
  409: "Conflict with the current state",
  413: "The body or file is too large",
  415: "The body is not JSON, or an upload is not an accepted file type",
  422: "Validation failed; details.fields names each problem",
  423: "Account locked after repeated failures",
  416: "The byte range starts past the end of the file",
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

/** A request body documented directly from a valibot schema (for routes that parse it themselves). */
export function requestBody(
  schema: v.GenericSchema,
  multipart?: { files: Record<string, string> },
) {
  const jsonSchema = toJsonSchema(schema, { errorMode: "ignore" });
  const content: Record<string, { schema: unknown }> = {
    "application/json": { schema: jsonSchema },
  };
  if (multipart) {
    const properties: Record<string, unknown> = {
      ...(jsonSchema as { properties?: Record<string, unknown> }).properties,
    };
    for (const [name, description] of Object.entries(multipart.files)) {
      properties[name] = { type: "string", format: "binary", description };
    }
    content["multipart/form-data"] = {
      schema: { type: "object", properties },
    };
  }
  return {
    required: true,
    content: content as Record<string, { schema: Record<string, unknown> }>,
  };
}
