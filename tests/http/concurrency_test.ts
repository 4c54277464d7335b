import assert from "node:assert/strict";
import { api, createTestContext } from "../helpers/context.ts";
import { makeUser, PASSWORD, uniqueEmail } from "../helpers/factories.ts";

Deno.test("concurrent writes queue instead of failing with SQLITE_BUSY", async () => {
  const ctx = await createTestContext();
  try {
    const user = await makeUser(ctx);
    const logins = Array.from(
      { length: 12 },
      () =>
        api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password: PASSWORD },
        }),
    );
    const registrations = Array.from(
      { length: 8 },
      (_, i) =>
        api(ctx, "POST", "/api/auth/register", {
          body: {
            name: `R${i}`,
            email: uniqueEmail("race"),
            password: PASSWORD,
          },
        }),
    );
    const results = await Promise.all([...logins, ...registrations]);
    assert.deepEqual(results.map((r) => r.status), [
      ...Array(12).fill(200),
      ...Array(8).fill(201),
    ]);
    const dup = uniqueEmail("same");
    const racing = await Promise.all(
      [1, 2, 3].map(() =>
        api(ctx, "POST", "/api/auth/register", {
          body: { name: "Twin", email: dup, password: PASSWORD },
        })
      ),
    );
    assert.deepEqual(
      racing.map((r) => r.status).sort(),
      [201, 409, 409],
      "one address, one account",
    );
  } finally {
    await ctx.close();
  }
});
