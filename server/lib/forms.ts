import type { Context } from "hono";
import * as v from "valibot";
import { AppError, validationFailed } from "./errors.ts";
import { issuesToFields } from "./validation.ts";

const MULTIPART = /^multipart\/form-data/i;
const JSON_TYPE = /^application\/([\w.-]+\+)?json/i;

export interface ParsedBody<T> {
  input: T;
  files: Record<string, { bytes: Uint8Array; name: string }>;
}

async function formDataOf(c: Context): Promise<FormData> {
  try {
    return await c.req.formData();
  } catch {
    throw new AppError(
      400,
      "INVALID_FORM",
      "The multipart body could not be read",
    );
  }
}

/** How multipart text fields become the JSON values the schema expects. */
export interface FormCoercion {
  json?: readonly string[];
  number?: readonly string[];
  boolean?: readonly string[];
}

function coerce(
  key: string,
  value: string,
  rules: FormCoercion,
): unknown {
  if (rules.json?.includes(key)) {
    try {
      return JSON.parse(value);
    } catch {
      throw validationFailed({ [key]: "Must be JSON in a multipart form" });
    }
  }
  if (rules.number?.includes(key)) {
    return value.trim() === "" ? Number.NaN : Number(value);
  }
  if (rules.boolean?.includes(key)) {
    return value === "true" ? true : value === "false" ? false : value;
  }
  return value;
}

/**
 * A body that may come as JSON or as multipart/form-data with files: both are validated by the same
 * valibot schema, so a form gets exactly the rules and messages JSON gets.
 */
export async function parseJsonOrForm<S extends v.GenericSchema>(
  c: Context,
  schema: S,
  rules: FormCoercion = {},
): Promise<ParsedBody<v.InferOutput<S>>> {
  const type = c.req.header("content-type") ?? "";
  let raw: unknown;
  const files: ParsedBody<unknown>["files"] = {};
  if (MULTIPART.test(type)) {
    const form = await formDataOf(c);
    const fields: Record<string, unknown> = {};
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") fields[key] = coerce(key, value, rules);
      else {
        files[key] = {
          bytes: new Uint8Array(await value.arrayBuffer()),
          name: value.name,
        };
      }
    }
    raw = fields;
  } else if (JSON_TYPE.test(type)) {
    try {
      raw = await c.req.json();
    } catch {
      throw new AppError(
        400,
        "INVALID_JSON",
        "The request body is not valid JSON",
      );
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw validationFailed(
        { body: "Must be a JSON object" },
        "The request body must be a JSON object",
      );
    }
  } else {
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "Send the body as JSON (application/json) or as multipart/form-data",
    );
  }
  const result = v.safeParse(schema, raw);
  if (!result.success) {
    throw validationFailed(issuesToFields(result.issues as never));
  }
  return { input: result.output, files };
}

/** The single file of an upload-only form (field `file`), plus its text fields. */
export async function readUpload(c: Context, field = "file") {
  const type = c.req.header("content-type") ?? "";
  if (!MULTIPART.test(type)) {
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Upload the file as multipart/form-data in a field named "${field}"`,
    );
  }
  const form = await formDataOf(c);
  const file = form.get(field);
  if (!file || typeof file === "string") {
    throw validationFailed({ [field]: "Attach a file" });
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of form.entries()) {
    if (typeof value === "string") fields[key] = value;
  }
  return {
    file: { bytes: new Uint8Array(await file.arrayBuffer()), name: file.name },
    fields,
  };
}
