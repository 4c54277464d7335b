import type { Context, Env, MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import type * as v from "valibot";
import * as valibot from "valibot";
import { AppError, badRequest, validationFailed } from "./errors.ts";

interface Issue {
  readonly message: string;
  readonly path?:
    | ReadonlyArray<PropertyKey | { readonly key: unknown }>
    | undefined;
}

/** Standard-schema issues -> `{ "field.sub": "message" }`, first message per field. */
export function issuesToFields(
  issues: readonly Issue[],
): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const path = (issue.path ?? []).map((p) =>
      String(typeof p === "object" ? p.key : p)
    ).join(".") || "body";
    fields[path] ??= issue.message;
  }
  return fields;
}

const hook = (result: { success: boolean; error?: readonly Issue[] }) => {
  if (!result.success) {
    throw validationFailed(issuesToFields(result.error ?? []));
  }
};

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** 415 unless the body is declared JSON; 400 INVALID_JSON when it does not parse. */
async function parseJsonBody(c: Context): Promise<void> {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
  if (!JSON_TYPE.test(mediaType)) {
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "Send the request body as JSON (Content-Type: application/json)",
    );
  }
  let body: unknown;
  try {
    body = await c.req.json(); // cached by Hono for the validator that follows
  } catch {
    throw badRequest("INVALID_JSON", "The request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed(
      { body: "Must be a JSON object" },
      "The request body must be a JSON object",
    );
  }
}

/**
 * Validates one part of the request with a valibot schema; the same schema documents the route in
 * the OpenAPI document. Failures become 422 with per-field details.
 */
export function validate<
  S extends v.GenericSchema,
  T extends keyof ValidationTargets,
  E extends Env,
  P extends string,
>(
  target: T,
  schema: S,
) {
  const inner = validator<S, T, E, P>(target, schema, hook);
  if (target !== "json") return inner;
  const withBodyCheck: MiddlewareHandler = async (c, next) => {
    await parseJsonBody(c);
    return await inner(c as never, next);
  };
  // Keep the metadata hono-openapi attached to `inner`, so the route is still documented.
  return Object.assign(withBodyCheck, inner) as unknown as typeof inner;
}

/** The API's validation outside a request (the CLI): the parsed value, or the same 422 error. */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): v.InferOutput<S> {
  const result = valibot.safeParse(schema, input);
  if (!result.success) throw validationFailed(issuesToFields(result.issues));
  return result.output;
}
