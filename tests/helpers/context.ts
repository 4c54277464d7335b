import { createApp } from "../../server/app.ts";
import { openServices } from "../../server/bootstrap.ts";
import type { Deps, OAuthEndpoints } from "../../server/deps.ts";
import { loadConfig } from "../../server/env.ts";
import { createMemoryLogger } from "../../server/lib/logger.ts";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256";
export const APP_URL = "http://lectern.test";

export interface TestContext {
  app: ReturnType<typeof createApp>;
  deps: Deps;
  logger: ReturnType<typeof createMemoryLogger>;
  dataDir: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A real app on a fresh SQLite file in a temporary folder: one per test file. `env` sets the same
 * variables an operator would.
 */
export async function createTestContext(
  env: Record<string, string> = {},
  extra: { oauthEndpoints?: Deps["oauthEndpoints"] } = {},
): Promise<TestContext> {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-test-" });
  const fullEnv = {
    LECTERN_ENV: "test",
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    APP_URL,
    AUTH_RATE_LIMIT: "10000",
    LOG_LEVEL: "debug",
    ...env,
  };
  const logger = createMemoryLogger();
  const services = await openServices(loadConfig(fullEnv), { logger });
  const deps: Deps = {
    ...services.deps,
    ...(extra.oauthEndpoints ? { oauthEndpoints: extra.oauthEndpoints } : {}),
  };
  return {
    app: createApp(deps),
    deps,
    logger,
    dataDir,
    env: fullEnv,
    async close() {
      await services.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

export type { OAuthEndpoints };

export interface ApiResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** One request through app.request(); JSON in, JSON (or text) out. */
export async function api(
  ctx: TestContext,
  method: string,
  path: string,
  options: {
    body?: unknown;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = typeof options.body === "string"
      ? options.body
      : JSON.stringify(options.body);
  }
  const response = await ctx.app.request(path, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* HTML or empty */ }
  return { status: response.status, headers: response.headers, body: parsed };
}
