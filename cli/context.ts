import { InvalidArgumentError } from "@commander-js/extra-typings";
import { openServices, type Services } from "../server/bootstrap.ts";
import { ConfigError, loadConfig } from "../server/env.ts";
import { AppError } from "../server/lib/errors.ts";
import { createLogger } from "../server/lib/logger.ts";

/** Opens the same services the server uses (migrating first), runs `work`, and always closes them. */
export async function withServices<T>(
  work: (services: Services) => Promise<T>,
): Promise<T> {
  const config = loadConfig(Deno.env.toObject());
  // Only warnings and errors: a CLI's stdout is for its answer.
  const services = await openServices(config, {
    logger: createLogger(
      config.logLevel === "debug" ? "debug" : "warn",
      console.error,
    ),
  });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** One line on stderr and a non-zero exit for anything that goes wrong. */
export function reportError(error: unknown): never {
  if (error instanceof AppError) {
    const fields = (error.details.fields ?? {}) as Record<string, string>;
    const extra = Object.entries(fields).map(([field, problem]) =>
      `\n  ${field}: ${problem}`
    ).join("");
    console.error(`error: ${error.message} (${error.code})${extra}`);
    Deno.exit(error.status >= 500 ? 2 : 1);
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    Deno.exit(2);
  }
  console.error(
    `error: ${error instanceof Error ? error.message : String(error)}`,
  );
  Deno.exit(2);
}

/** Commander option parser for counts: refuses "abc", "0" and "1.5" instead of passing NaN along. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,6}$/.test(value.trim())) {
    throw new InvalidArgumentError("must be a positive whole number");
  }
  return Number(value);
}
