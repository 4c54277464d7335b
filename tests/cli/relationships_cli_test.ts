import assert from "node:assert/strict";
import { api, createTestContext } from "../helpers/context.ts";
import { makeUserAndLogin } from "../helpers/factories.ts";
import { ok, runCli } from "../helpers/cli.ts";

type Person = Awaited<ReturnType<typeof makeUserAndLogin>>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("the relationships CLI lists relationships", async (t) => {
  const ctx = await createTestContext();
  const cli = (args: string[]) =>
    runCli(ctx.dataDir, ["relationships", ...args]);
  try {
    const tara = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Tara Teacher",
    });
    const theo = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Theo Tutor",
    });
    const sam = await makeUserAndLogin(ctx, { name: "Sam Student" });
    const sue = await makeUserAndLogin(ctx, { name: "Sue Student" });

    const ask = async (from: Person, to: Person) => {
      const res = await api(ctx, "POST", "/api/relationships/request", {
        token: from.token,
        body: { userId: to.user.id },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await pause(2);
      return res.body.relationship.id as string;
    };
    const respond = async (by: Person, id: string, what: string) => {
      const res = await api(ctx, "PUT", `/api/relationships/${id}/${what}`, {
        token: by.token,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await pause(2);
    };
    // Tara teaches Sam (active); Sue's request to Tara is pending; Theo declined Sam.
    const taraSam = await ask(tara, sam);
    await respond(sam, taraSam, "accept");
    const theoSam = await ask(sam, theo);
    await respond(theo, theoSam, "decline");
    const taraSue = await ask(sue, tara);

    await t.step(
      "human output: one line each, most recently changed first, and a count",
      async () => {
        const lines = ok(await cli(["list"]), "relationships list").trimEnd()
          .split("\n");
        assert.equal(lines.length, 4, lines.join("\n"));
        assert.match(
          lines[0]!,
          /^pending\s+Tara Teacher teaches Sue Student\s+since \S+\s+\S+$/,
        );
        assert.ok(lines[0]!.endsWith(taraSue));
        assert.match(lines[1]!, /^declined\s+Theo Tutor teaches Sam Student\b/);
        assert.ok(lines[1]!.endsWith(theoSam));
        assert.match(lines[2]!, /^active\s+Tara Teacher teaches Sam Student\b/);
        assert.ok(lines[2]!.endsWith(taraSam));
        assert.equal(lines[3], "3 of 3 relationships");
      },
    );

    await t.step("--json, --user by email, --as and --status", async () => {
      const all = JSON.parse(ok(await cli(["list", "--json"]), "list --json"));
      assert.equal(all.total, 3);
      assert.deepEqual(
        all.relationships.map((r: { id: string }) => r.id),
        [taraSue, theoSam, taraSam],
      );
      const active = all.relationships[2];
      assert.equal(active.status, "active");
      assert.equal(active.student.name, "Sam Student");
      assert.equal(active.teacher.id, tara.user.id);

      const sams = JSON.parse(
        ok(
          await cli(["list", "--user", sam.user.email, "--json"]),
          "list --user",
        ),
      );
      assert.deepEqual(
        sams.relationships.map((r: { id: string }) => r.id).sort(),
        [taraSam, theoSam].sort(),
      );
      assert.equal(sams.total, 2);

      const pending = ok(
        await cli(["list", "--status", "pending"]),
        "list --status",
      ).trimEnd().split("\n");
      assert.equal(pending.length, 2, pending.join("\n"));
      assert.ok(pending[0]!.endsWith(taraSue));
      assert.equal(pending[1], "1 of 1 relationship");

      const taught = ok(
        await cli(["list", "--user", tara.user.id, "--as", "student"]),
        "list --as student",
      ).trimEnd().split("\n");
      assert.deepEqual(taught, ["0 of 0 relationships"]);
    });

    await t.step("an unknown user or status fails on stderr", async () => {
      const unknown = await cli(["list", "--user", "nobody@school.test"]);
      assert.equal(unknown.code, 1, unknown.stderr);
      assert.equal(unknown.stdout, "");
      assert.match(unknown.stderr, /not found/i);
      const badStatus = await cli(["list", "--status", "lost"]);
      assert.notEqual(badStatus.code, 0);
      assert.match(badStatus.stderr, /lost/);
    });
  } finally {
    await ctx.close();
  }
});
