import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../server/env.ts";

Deno.test("loadConfig gives working defaults for an empty environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.appUrl, "http://localhost:8000");
  assert.equal(config.databaseUrl, "file:./data/lectern.db");
  assert.equal(config.env, "development");
  assert.equal(config.authRateLimit, 60);
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.oauth.google, undefined);
});

Deno.test("loadConfig reads every variable", () => {
  const config = loadConfig({
    PORT: "9000",
    APP_URL: "https://learn.school.test/",
    DATA_DIR: "/var/lib/lectern",
    LECTERN_ENV: "production",
    JWT_SECRET: "x".repeat(40),
    SMTP_URL: "smtps://user:pass@mail.school.test:465",
    MAIL_FROM: "School <no-reply@school.test>",
    CORS_ORIGINS: "https://a.test, https://b.test",
    LOG_LEVEL: "warn",
    AUTH_RATE_LIMIT: "120",
    GITHUB_CLIENT_ID: "id",
    GITHUB_CLIENT_SECRET: "secret",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.appUrl, "https://learn.school.test");
  assert.equal(config.databaseUrl, "file:/var/lib/lectern/lectern.db");
  assert.deepEqual(config.corsOrigins, ["https://a.test", "https://b.test"]);
  assert.deepEqual(config.oauth.github, {
    clientId: "id",
    clientSecret: "secret",
  });
  assert.equal(config.oauth.google, undefined);
});

Deno.test("a bad value is one line naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /PORT must be a positive whole number/],
    [{ PORT: "70000" }, /PORT must be at most 65535/],
    [{ APP_URL: "localhost" }, /APP_URL must be an absolute URL/],
    [
      { LECTERN_ENV: "staging" },
      /LECTERN_ENV must be development, production or test/,
    ],
    [{ JWT_SECRET: "short" }, /JWT_SECRET must be at least 32 characters/],
    [{ SMTP_URL: "mail.example.com" }, /SMTP_URL must start with smtp/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    [{ DATABASE_URL: "postgres://x" }, /DATABASE_URL must start with file:/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
});
