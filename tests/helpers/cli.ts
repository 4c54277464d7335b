import assert from "node:assert/strict";
import { TEST_JWT_SECRET } from "./context.ts";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cli/main.ts` as an operator would, against the database in `dataDir`, with `env` added to
 * the base environment (the child never inherits this process's).
 */
export async function runCli(
  dataDir: string,
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "cli/main.ts",
      ...args,
    ],
    env: {
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${dataDir}/lectern.db`,
      LECTERN_ENV: "test",
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "warn",
      APP_URL: "http://lectern.test",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...env,
    },
    cwd: REPO_ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The command succeeded and said nothing on stderr; returns stdout. */
export function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed:\n${result.stderr}`);
  assert.equal(result.stderr, "", `${what} wrote to stderr`);
  return result.stdout;
}
