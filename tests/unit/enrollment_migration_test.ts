import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { MIGRATIONS_FOLDER } from "../../db/migrate.ts";

async function apply(client: ReturnType<typeof createClient>, tag: string) {
  const text = await Deno.readTextFile(`${MIGRATIONS_FOLDER}/${tag}.sql`);
  for (const statement of text.split("--> statement-breakpoint")) {
    if (statement.trim()) await client.execute(statement);
  }
}

Deno.test("migration 0003 carries old enrollments over as enrollments plus access grants", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lectern-migration-" });
  const client = createClient({ url: `file:${dir}/old.db` });
  try {
    for (
      const tag of [
        "0000_init",
        "0001_catalog",
        "0002_search_and_default_categories",
      ]
    ) await apply(client, tag);
    // Rows as the catalog release wrote them: one per user, program and access type.
    await client.execute("PRAGMA foreign_keys = OFF");
    await client.batch([
      "INSERT INTO enrollments (id, user_id, program_id, access_type, status, created_at, updated_at) VALUES ('e1', 'u1', 'p1', 'chatbot', 'active', 1000, 1000)",
      "INSERT INTO enrollments (id, user_id, program_id, access_type, status, created_at, updated_at) VALUES ('e2', 'u1', 'p1', 'documentation', 'refunded', 2000, 3000)",
      "INSERT INTO enrollments (id, user_id, program_id, access_type, status, created_at, updated_at) VALUES ('e3', 'u2', 'p1', 'bundle', 'cancelled', 1500, 1500)",
    ]);
    await apply(client, "0003_enrollment_and_billing");

    const enrollments = await client.execute(
      "SELECT id, user_id, status, created_at, updated_at FROM enrollments ORDER BY user_id",
    );
    assert.deepEqual(
      enrollments.rows.map((r) => ({ ...r })),
      [
        {
          id: "e1",
          user_id: "u1",
          status: "in_progress",
          created_at: 1000,
          updated_at: 3000,
        },
        {
          id: "e3",
          user_id: "u2",
          status: "in_progress",
          created_at: 1500,
          updated_at: 1500,
        },
      ],
    );
    const grants = await client.execute(
      "SELECT id, enrollment_id, access_type, status, source FROM access_grants ORDER BY id",
    );
    assert.deepEqual(grants.rows.map((r) => ({ ...r })), [
      {
        id: "e1",
        enrollment_id: "e1",
        access_type: "chatbot",
        status: "active",
        source: "admin",
      },
      {
        id: "e2",
        enrollment_id: "e1",
        access_type: "documentation",
        status: "refunded",
        source: "admin",
      },
      {
        id: "e3",
        enrollment_id: "e3",
        access_type: "bundle",
        status: "revoked",
        source: "admin",
      },
    ]);
    const old = await client.execute(
      "SELECT count(*) AS n FROM sqlite_master WHERE name = '__old_enrollments'",
    );
    assert.equal(old.rows[0]!.n, 0);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
