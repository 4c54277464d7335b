import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { categories, programs, users } from "../../db/schema/mod.ts";
import { createTestContext } from "../helpers/context.ts";
import { type CliResult, ok, runCli } from "../helpers/cli.ts";
import {
  makeProgram,
  makeUser,
  PASSWORD,
  uniqueEmail,
} from "../helpers/factories.ts";

const PRIMARY_HOST = "e2865641c40e86.vm.lectern-school.internal";

/**
 * tests/helpers/cli.ts's runCli, plus LITEFS_DIR: the CLI reads its configuration from the
 * environment, and the child would otherwise inherit whatever this process has.
 */
/** runCli on a machine whose LiteFS mount is `litefsDir`. */
const runCliOn = (
  dataDir: string,
  litefsDir: string,
  args: string[],
  stdin?: string,
): Promise<CliResult> =>
  runCli(dataDir, args, stdin, { LITEFS_DIR: litefsDir });

function refused(result: CliResult, command: string) {
  assert.equal(result.code, 1, `${command}: ${result.stdout}${result.stderr}`);
  assert.equal(result.stdout, "", `${command} printed nothing`);
  assert.match(result.stderr, /read-only LiteFS replica/, command);
  assert.ok(
    result.stderr.includes(PRIMARY_HOST),
    `${command} names the primary: ${result.stderr}`,
  );
  assert.ok(result.stderr.includes(`\`${command}\``), result.stderr);
  assert.ok(
    result.stderr.includes("--machine e2865641c40e86"),
    result.stderr,
  );
}

const files = async (dir: string) => {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
};

Deno.test("the CLI on a LiteFS replica: writes refused naming the primary, reads and backups allowed", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-cli-replica-" });
  const litefsDir = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  const extractDir = await Deno.makeTempDir({ prefix: "lectern-extract-" });
  const cli = (args: string[], stdin?: string) =>
    runCliOn(dataDir, litefsDir, args, stdin);
  // Migrated here, as the primary: a replica's CLI does not migrate.
  const ctx = await createTestContext({
    DATA_DIR: dataDir,
    DATABASE_URL: `file:${dataDir}/lectern.db`,
  });
  const userByEmail = async (email: string) =>
    (await ctx.deps.db.select().from(users).where(eq(users.email, email)))[0];
  const categoryNamed = async (name: string) =>
    (await ctx.deps.db.select().from(categories).where(
      eq(categories.name, name),
    ))[0];
  const statusOf = async (id: string) =>
    (await ctx.deps.db.select().from(programs).where(eq(programs.id, id)))[0]
      ?.status;
  try {
    const teacher = await makeUser(ctx, { role: "instructor" });
    const draft = await makeProgram(ctx, teacher, {
      title: "Replica Draft",
      status: "draft",
    });
    const unverified = await makeUser(ctx, { verified: false });
    const newEmail = uniqueEmail("replica-cli");
    const category = "Quantum Cooking";
    const writes = {
      "users create": [
        "users",
        "create",
        "--email",
        newEmail,
        "--name",
        "New Admin",
        "--role",
        "admin",
        "--password-stdin",
      ],
      "programs publish": ["programs", "publish", draft.slug],
      "categories add": ["categories", "add", category],
    } as const;

    await Deno.writeTextFile(`${litefsDir}/.primary`, PRIMARY_HOST + "\n");

    let archive = "";
    await t.step(
      "backup create is allowed on a replica (it only reads the database)",
      async () => {
        const run = JSON.parse(
          ok(await cli(["backup", "create", "--json"]), "backup create"),
        );
        archive = run.file;
        assert.ok(archive.startsWith(`${dataDir}/backups/`), archive);
        await Deno.stat(archive);
      },
    );

    await t.step(
      "users create, programs publish, categories add and backup restore exit 1 naming the primary and change nothing; db migrate exits 0 saying the primary migrates",
      async () => {
        const before = await files(dataDir);
        const [create, publish, add, restore, migrate] = await Promise.all([
          cli([...writes["users create"]], PASSWORD + "\n"),
          cli([...writes["programs publish"]]),
          cli([...writes["categories add"]]),
          cli(["backup", "restore", archive]),
          cli(["db", "migrate"]),
        ]);
        refused(create, "users create");
        refused(publish, "programs publish");
        refused(add, "categories add");
        refused(restore, "backup restore");
        // litefs.yml runs `db migrate` on every candidate: on a replica it says who migrates and
        // exits 0, so LiteFS does not stop the machine.
        assert.equal(migrate.code, 0, migrate.stderr);
        assert.match(migrate.stdout, /replica; the primary \(.+\) migrates/);

        assert.equal(await userByEmail(newEmail), undefined, "no account");
        assert.equal(await statusOf(draft.id), "draft", "still a draft");
        assert.equal(await categoryNamed(category), undefined, "no category");
        assert.deepEqual(
          await files(dataDir),
          before,
          "the database was not moved aside",
        );
      },
    );

    await t.step(
      "reads exit 0: users list, audit list, reports users, programs show, backup list and verify, restore --extract-to",
      async () => {
        const extracted = `${extractDir}/lectern.db`;
        const [list, audit, report, show, backups, verify, extract] =
          await Promise.all([
            cli(["users", "list", "--json"]),
            cli(["audit", "list"]),
            cli(["reports", "users"]),
            cli(["programs", "show", draft.slug]),
            cli(["backup", "list"]),
            cli(["backup", "verify", archive]),
            cli(["backup", "restore", archive, "--extract-to", extracted]),
          ]);
        const listed = JSON.parse(ok(list, "users list"));
        assert.ok(
          listed.users.some((u: { email: string }) =>
            u.email === teacher.email
          ),
        );
        ok(audit, "audit list");
        ok(report, "reports users");
        assert.match(ok(show, "programs show"), /Replica Draft/);
        assert.match(ok(backups, "backup list"), /1 backup\(s\)/);
        assert.match(ok(verify, "backup verify"), /^OK: /);
        assert.match(ok(extract, "restore --extract-to"), /Extracted/);
        assert.ok((await Deno.stat(extracted)).size > 0);
      },
    );

    await t.step({
      name: "users verify (a write: marks an email verified) is refused too",
      fn: async () => {
        refused(
          await cli(["users", "verify", unverified.email]),
          "users verify",
        );
        assert.equal(
          (await userByEmail(unverified.email))?.emailVerifiedAt,
          null,
        );
      },
    });

    await t.step(
      "once .primary is removed (promotion) the same writes go through",
      async () => {
        await Deno.remove(`${litefsDir}/.primary`);
        assert.match(
          ok(
            await cli([...writes["users create"]], PASSWORD + "\n"),
            "users create",
          ),
          new RegExp(`Created admin ${newEmail}`),
        );
        assert.equal((await userByEmail(newEmail))?.role, "admin");
        assert.match(
          ok(await cli([...writes["programs publish"]]), "programs publish"),
          /^Published /,
        );
        assert.equal(await statusOf(draft.id), "published");
        ok(await cli([...writes["categories add"]]), "categories add");
        assert.ok(await categoryNamed(category));
        assert.equal(
          ok(await cli(["db", "migrate"]), "db migrate").trim(),
          "Database is up to date",
        );
      },
    );

    await t.step(
      "and backup restore, on the primary, puts the backup in place",
      async () => {
        assert.match(
          ok(await cli(["backup", "restore", archive]), "backup restore"),
          /Restored the backup/,
        );
        assert.ok(
          (await files(dataDir)).some((name) =>
            name.startsWith("lectern.db.before-restore-")
          ),
          "the old database is kept aside",
        );
        // The backup was taken before the account was created.
        const listed = JSON.parse(
          ok(await cli(["users", "list", "--json"]), "users list"),
        );
        const emails = listed.users.map((u: { email: string }) => u.email);
        assert.ok(emails.includes(teacher.email));
        assert.ok(!emails.includes(newEmail));
      },
    );
  } finally {
    await ctx.close();
    await Deno.remove(litefsDir, { recursive: true });
    await Deno.remove(extractDir, { recursive: true });
  }
});
