import assert from "node:assert/strict";
import { signCredential } from "../../server/features/certificates/credential.ts";
import { eq } from "drizzle-orm";
import { certificates } from "../../db/schema/mod.ts";
import { startSession } from "../../server/features/auth/service.ts";
import { createUser } from "../../server/features/users/service.ts";
import {
  api,
  APP_URL,
  createTestContext,
  type TestContext,
} from "../helpers/context.ts";
import { uniqueEmail } from "../helpers/factories.ts";
import { type CliResult, ok, runCli } from "../helpers/cli.ts";
import { learner, programWithLesson } from "../features/payments/support.ts";
import { certifiedLearner } from "../features/certificates/support.ts";

const CODE = /CERT-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}/;
/** A code's check symbol may be `*`, `~`, `$` or `=`: literal text in a pattern. */
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The command failed: a non-zero exit and a message on stderr. Returns stderr. */
function failed(result: CliResult, what: string): string {
  assert.notEqual(result.code, 0, `${what} should fail:\n${result.stdout}`);
  assert.ok(result.stderr.trim().length > 0, `${what}: nothing on stderr`);
  return result.stderr;
}

/**
 * The server notices another process's commits by polling (decision 005), so a cached answer may
 * last a moment after a CLI write: ask again until `done`, for a few seconds at most.
 */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  let value = await read();
  for (let tries = 0; !done(value) && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  assert.ok(done(value), `${what}: ${JSON.stringify(value)}`);
  return value;
}

async function namedLearner(ctx: TestContext, name: string) {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail("cli-learner"),
    name,
    password: null,
    role: "student",
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

/** One base64url symbol swapped for another at `index`. */
function swapAt(text: string, index: number): string {
  const old = text[index]!;
  const replacement = old === "A" ? "B" : old === "-" ? "_" : "A";
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

Deno.test("the certificates CLI: issue, list, show, revoke, reissue, verify a credential", async (t) => {
  const ctx = await createTestContext();
  const cli = (args: string[]) => runCli(ctx.dataDir, args);
  const files = `${ctx.dataDir}/downloads`;
  await Deno.mkdir(files);
  const verifyApi = (code: string) =>
    api(ctx, "GET", `/api/certificates/verify/${code}`);
  try {
    const teacher = await learner(ctx, "instructor");
    const student = await namedLearner(ctx, "Cli Learner");
    const other = await namedLearner(ctx, "Other Learner");
    const { program } = await programWithLesson(ctx, teacher.user, {
      title: "Orbital Mechanics",
    });
    const { program: second } = await programWithLesson(ctx, teacher.user, {
      title: "Rocketry Basics",
    });
    let code = "";
    let certificateId = "";

    await t.step(
      "issue: by email and program id, with a reason; again says 'already holds' and changes nothing",
      async () => {
        const out = ok(
          await cli([
            "certificates",
            "issue",
            "--user",
            student.user.email,
            "--program",
            program.id,
            "--reason",
            "Passed the paper exam",
          ]),
          "issue",
        );
        const match = new RegExp(
          `^Issued (${CODE.source}) to Cli Learner for "Orbital Mechanics"\\n$`,
        ).exec(out);
        assert.ok(match, out);
        code = match[1]!;

        const rows = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, student.user.id),
        );
        assert.equal(rows.length, 1);
        const [row] = rows;
        certificateId = row!.id;
        assert.equal(row!.code, code);
        assert.equal(row!.status, "valid");
        assert.equal(row!.basis, "manual");
        assert.equal(row!.reason, "Passed the paper exam");
        assert.equal(row!.issuedBy, null, "the CLI is no account");
        assert.match(row!.pdfSha256 ?? "", /^[0-9a-f]{64}$/);

        const again = await cli([
          "certificates",
          "issue",
          "--user",
          student.user.id,
          "--program",
          program.slug,
          "--reason",
          "Clicked twice",
        ]);
        assert.equal(
          ok(again, "issue again"),
          `Cli Learner already holds ${code} for "Orbital Mechanics"; nothing changed\n`,
        );
        const after = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, student.user.id),
        );
        assert.deepEqual(after, rows, "nothing changed");

        const verified = await verifyApi(code);
        assert.equal(verified.status, 200);
        assert.equal(verified.body.status, "valid");
        assert.equal(verified.body.certificate.recipientName, "Cli Learner");
      },
    );

    await t.step(
      "issue --json; unknown learners and a missing --reason fail on stderr",
      async () => {
        for (
          const [who, where] of [[student, second], [other, second]] as const
        ) {
          const json = JSON.parse(
            ok(
              await cli([
                "certificates",
                "issue",
                "--user",
                who.user.email,
                "--program",
                where.slug,
                "--reason",
                "Transferred credit",
                "--json",
              ]),
              "issue --json",
            ),
          );
          assert.equal(json.created, true);
          assert.match(json.certificate.verificationCode, CODE);
          assert.equal(json.certificate.user.id, who.user.id);
          assert.equal(json.certificate.program.id, where.id);
          assert.equal(json.certificate.reason, "Transferred credit");
          assert.equal(json.certificate.status, "valid");
        }

        const nobody = failed(
          await cli([
            "certificates",
            "issue",
            "--user",
            "nobody@example.com",
            "--program",
            program.id,
            "--reason",
            "x",
          ]),
          "issue to nobody",
        );
        assert.match(nobody, /not found/i);
        const noReason = failed(
          await cli([
            "certificates",
            "issue",
            "--user",
            other.user.email,
            "--program",
            program.id,
          ]),
          "issue without --reason",
        );
        assert.match(noReason, /--reason/);
        const rows = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, other.user.id),
        );
        assert.equal(rows.length, 1, "only the one for Rocketry Basics");
      },
    );

    await t.step(
      "list: everything, --user, --program, both, and --json",
      async () => {
        const lines = (out: string) => out.trimEnd().split("\n");
        const all = lines(ok(await cli(["certificates", "list"]), "list"));
        assert.equal(all.at(-1), "3 of 3");
        assert.equal(all.length, 4);
        const mine = all.find((line) => line.startsWith(code));
        assert.ok(mine, all.join("\n"));
        assert.match(
          mine,
          new RegExp(
            `^${
              esc(code)
            }\\s+valid\\s+\\d{4}-\\d{2}-\\d{2}\\s+Cli Learner\\s+Orbital Mechanics$`,
          ),
        );

        const byUser = lines(
          ok(
            await cli(["certificates", "list", "--user", student.user.email]),
            "list --user",
          ),
        );
        assert.equal(byUser.at(-1), "2 of 2");
        assert.ok(byUser.slice(0, -1).every((l) => l.includes("Cli Learner")));

        const byProgram = lines(
          ok(
            await cli(["certificates", "list", "--program", program.id]),
            "list --program",
          ),
        );
        assert.deepEqual(byProgram, [mine, "1 of 1"]);
        const bySlug = lines(
          ok(
            await cli(["certificates", "list", "--program", second.slug]),
            "list --program slug",
          ),
        );
        assert.equal(bySlug.at(-1), "2 of 2");
        assert.ok(
          bySlug.slice(0, -1).every((l) => l.endsWith("Rocketry Basics")),
        );
        const both = lines(
          ok(
            await cli([
              "certificates",
              "list",
              "--user",
              other.user.id,
              "--program",
              program.slug,
            ]),
            "list --user --program",
          ),
        );
        assert.deepEqual(both, ["0 of 0"]);

        const json = JSON.parse(
          ok(
            await cli([
              "certificates",
              "list",
              "--user",
              student.user.email,
              "--json",
            ]),
            "list --json",
          ),
        );
        assert.equal(json.total, 2);
        assert.equal(json.certificates.length, 2);
        const entry = json.certificates.find((
          c: { verificationCode: string },
        ) => c.verificationCode === code);
        assert.ok(entry);
        assert.equal(entry.id, certificateId);
        assert.equal(entry.status, "valid");
        assert.deepEqual(entry.user, {
          name: "Cli Learner",
          id: student.user.id,
        });
        assert.equal(entry.program.title, "Orbital Mechanics");
        assert.equal(entry.shareableLink, `${APP_URL}/verify/${code}`);
      },
    );

    await t.step(
      "show: a code typed in lowercase (or without dashes), as text and JSON",
      async () => {
        for (
          const typed of [
            code.toLowerCase(),
            code.toLowerCase().replaceAll("-", ""),
            certificateId,
          ]
        ) {
          const out = ok(await cli(["certificates", "show", typed]), "show");
          assert.match(out, new RegExp(`^Code\\s+${esc(code)}$`, "m"));
          assert.match(out, /^Status\s+valid$/m);
          assert.match(
            out,
            new RegExp(
              `^Learner\\s+Cli Learner \\(${student.user.id}\\)$`,
              "m",
            ),
          );
          assert.match(
            out,
            new RegExp(
              `^Program\\s+Orbital Mechanics \\(${program.id}\\)$`,
              "m",
            ),
          );
          assert.match(out, /^School\s+Lectern School$/m);
          assert.match(out, /^Expires\s+never$/m);
          assert.match(out, /^Basis\s+manual$/m);
          assert.match(out, /^Reason\s+Passed the paper exam$/m);
          assert.match(out, /^PDF SHA-256\s+[0-9a-f]{64}$/m);
          assert.match(
            out,
            new RegExp(
              `^Verify at\\s+${esc(APP_URL)}/verify/${esc(code)}$`,
              "m",
            ),
          );
          assert.match(out, new RegExp(`^Id\\s+${certificateId}$`, "m"));
          assert.doesNotMatch(out, /^Revoked/m);
        }
        const json = JSON.parse(
          ok(
            await cli(["certificates", "show", code.toLowerCase(), "--json"]),
            "show --json",
          ),
        );
        assert.equal(json.verificationCode, code);
        assert.equal(json.id, certificateId);
        assert.equal(json.isValid, true);

        const unknown = failed(
          await cli(["certificates", "show", "CERT-2026-0000-0000-0000-0000"]),
          "show an unknown code",
        );
        assert.match(unknown, /not found/i);
      },
    );

    await t.step(
      "verify: a credential downloaded through the API is VALID, by the local key or --keys, bare or wrapped in JSON",
      async () => {
        const res = await ctx.app.request(
          `/api/certificates/${certificateId}/credential`,
          { headers: { Authorization: `Bearer ${student.token}` } },
        );
        assert.equal(res.status, 200);
        const jwt = await res.text();
        const path = `${files}/certificate.jwt`;
        await Deno.writeTextFile(path, jwt);
        const kid = ctx.deps.signer.kid;
        const issued = (await ctx.deps.db.select().from(certificates).where(
          eq(certificates.id, certificateId),
        ))[0]!.issuedAt.toISOString().slice(0, 10);

        const out = ok(await cli(["certificates", "verify", path]), "verify");
        assert.equal(
          out,
          `VALID signature (key ${kid}): Cli Learner, "Orbital Mechanics", issued by Lectern School on ${issued}\n` +
            `Revocation is not part of the signature: check ${APP_URL}/verify/${code}\n`,
        );

        const jwks = await api(ctx, "GET", "/.well-known/jwks.json");
        const keysPath = `${files}/jwks.json`;
        await Deno.writeTextFile(keysPath, JSON.stringify(jwks.body));
        assert.match(
          ok(
            await cli(["certificates", "verify", path, "--keys", keysPath]),
            "verify --keys",
          ),
          /^VALID signature/,
        );

        const wrapped = `${files}/wrapped.json`;
        await Deno.writeTextFile(
          wrapped,
          JSON.stringify({ credential: jwt, note: "from a wallet" }, null, 2),
        );
        assert.match(
          ok(await cli(["certificates", "verify", wrapped]), "verify wrapped"),
          /^VALID signature/,
        );
        const withNewline = `${files}/newline.jwt`;
        await Deno.writeTextFile(withNewline, `${jwt}\r\n`);
        assert.match(
          ok(
            await cli(["certificates", "verify", withNewline]),
            "verify CRLF",
          ),
          /^VALID signature/,
        );

        const json = JSON.parse(
          ok(
            await cli(["certificates", "verify", path, "--json"]),
            "verify --json",
          ),
        );
        assert.deepEqual(json, {
          valid: true,
          expired: false,
          keyId: kid,
          code,
          recipient: "Cli Learner",
          achievement: "Orbital Mechanics",
          issuer: "Lectern School",
          validFrom: json.validFrom,
          validUntil: null,
          statusUrl: `${APP_URL}/verify/${code}`,
        });
        assert.equal(json.validFrom.slice(0, 10), issued);

        const empty = `${files}/empty-wrapper.json`;
        await Deno.writeTextFile(empty, JSON.stringify({ jwt: 42 }));
        assert.match(
          failed(
            await cli(["certificates", "verify", empty]),
            "verify a wrapper without a credential",
          ),
          /credential/,
        );
        failed(
          await cli(["certificates", "verify", `${files}/missing.jwt`]),
          "verify a missing file",
        );
      },
    );

    await t.step(
      "verify: a genuine but expired credential exits 1 and says EXPIRED",
      async () => {
        const issuedAt = new Date(Date.now() - 400 * 86_400_000);
        const jwt = await signCredential(
          ctx.deps.signer,
          "http://lectern.test",
          {
            code: "CERT-2025-0000-0000-0000-0000",
            recipientName: "Past Learner",
            programId: program.id,
            programTitle: "Orbital Mechanics",
            schoolName: "Lectern School",
            issuedAt,
            expiresAt: new Date(issuedAt.getTime() + 365 * 86_400_000),
            score: null,
          },
        );
        const file = `${files}/expired.jwt`;
        await Deno.writeTextFile(file, jwt);
        const result = await cli(["certificates", "verify", file]);
        assert.equal(result.code, 1, result.stdout + result.stderr);
        assert.match(result.stderr, /^EXPIRED: the signature is genuine/);
        assert.match(result.stderr, /Past Learner/);
        const json = await cli(["certificates", "verify", file, "--json"]);
        assert.equal(json.code, 1);
        assert.equal(JSON.parse(json.stdout).expired, true);
        assert.equal(JSON.parse(json.stdout).valid, true);
      },
    );

    await t.step(
      "verify: changing any single symbol of the payload (or header, or signature) makes it INVALID",
      async () => {
        const res = await ctx.app.request(
          `/api/certificates/${certificateId}/credential`,
          { headers: { Authorization: `Bearer ${student.token}` } },
        );
        const jwt = await res.text();
        const [header, payload, signature] = jwt.split(".") as [
          string,
          string,
          string,
        ];
        const positions = [
          0,
          1,
          Math.floor(payload.length / 3),
          Math.floor(payload.length / 2),
          payload.length - 2,
          payload.length - 1,
        ];
        const tampered: [string, string][] = positions.map((at) => [
          `payload[${at}]`,
          `${header}.${swapAt(payload, at)}.${signature}`,
        ]);
        tampered.push(
          ["header[5]", `${swapAt(header, 5)}.${payload}.${signature}`],
          ["signature[0]", `${header}.${payload}.${swapAt(signature, 0)}`],
          [
            "signature[last]",
            `${header}.${payload}.${swapAt(signature, signature.length - 1)}`,
          ],
        );
        // A flipped bit in the file, whatever character it makes.
        const flipped = new TextEncoder().encode(jwt);
        flipped[header.length + 1 + 40]! ^= 0x01;
        tampered.push([
          "payload bit flip",
          new TextDecoder().decode(flipped),
        ]);

        for (const [what, text] of tampered) {
          assert.notEqual(text, jwt, what);
          const path = `${files}/tampered.jwt`;
          await Deno.writeTextFile(path, text);
          const result = await cli(["certificates", "verify", path]);
          assert.notEqual(
            result.code,
            0,
            `${what} verified:\n${result.stdout}`,
          );
          assert.match(result.stderr, /^INVALID: /, what);
          assert.doesNotMatch(result.stdout, /VALID/, what);
        }

        // The payload edited on purpose, re-encoded properly: the signature gives it away.
        const decoded = JSON.parse(
          new TextDecoder().decode(
            Uint8Array.from(
              atob(payload.replaceAll("-", "+").replaceAll("_", "/")),
              (c) => c.charCodeAt(0),
            ),
          ),
        );
        decoded.vc.credentialSubject.identifier[0].identityHash = "Mallory";
        const forged = btoa(
          String.fromCharCode(
            ...new TextEncoder().encode(JSON.stringify(decoded)),
          ),
        ).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
        const forgedPath = `${files}/forged.jwt`;
        await Deno.writeTextFile(
          forgedPath,
          `${header}.${forged}.${signature}`,
        );
        const json = await cli([
          "certificates",
          "verify",
          forgedPath,
          "--json",
        ]);
        assert.notEqual(json.code, 0);
        const answer = JSON.parse(json.stdout);
        assert.equal(answer.valid, false);
        assert.match(answer.reason, /signature does not match/);
      },
    );

    await t.step(
      "verify: a key set without the school's key, or with another key under its id, says INVALID",
      async () => {
        const res = await ctx.app.request(
          `/api/certificates/${certificateId}/credential`,
          { headers: { Authorization: `Bearer ${student.token}` } },
        );
        const path = `${files}/certificate.jwt`;
        await Deno.writeTextFile(path, await res.text());
        const pair = await crypto.subtle.generateKey(
          { name: "Ed25519" },
          true,
          ["sign", "verify"],
        ) as CryptoKeyPair;
        const stranger = await crypto.subtle.exportKey("jwk", pair.publicKey);

        const impostor = `${files}/impostor.json`;
        await Deno.writeTextFile(
          impostor,
          JSON.stringify({ keys: [{ ...stranger, kid: ctx.deps.signer.kid }] }),
        );
        assert.match(
          failed(
            await cli(["certificates", "verify", path, "--keys", impostor]),
            "verify with another key",
          ),
          /^INVALID: The signature does not match/,
        );
        const unrelated = `${files}/unrelated.json`;
        await Deno.writeTextFile(
          unrelated,
          JSON.stringify({ keys: [{ ...stranger, kid: "someone-else" }] }),
        );
        assert.match(
          failed(
            await cli(["certificates", "verify", path, "--keys", unrelated]),
            "verify with an unrelated key set",
          ),
          new RegExp(
            `^INVALID: No published key with id ${ctx.deps.signer.kid}`,
          ),
        );
      },
    );

    let replacement = "";
    await t.step(
      "reissue --name: a new code; the old one is superseded and points to it",
      async () => {
        // Looked up first: the server's cached answer must give way to the CLI's write.
        assert.equal((await verifyApi(code)).body.status, "valid");
        const out = ok(
          await cli([
            "certificates",
            "reissue",
            code.toLowerCase(),
            "--name",
            "Corrected Name",
            "--reason",
            "Typo in the name",
          ]),
          "reissue",
        );
        const match = new RegExp(
          `^Reissued ${esc(code)} as (${CODE.source}) for Corrected Name; ${
            esc(APP_URL)
          }/verify/(${CODE.source})\\n$`,
        ).exec(out);
        assert.ok(match, out);
        replacement = match[1]!;
        assert.equal(match[2], replacement);
        assert.notEqual(replacement, code);

        const old = await eventually(
          () => verifyApi(code),
          (res) => res.body.status === "superseded",
          "the old code is superseded",
        );
        assert.equal(old.body.isValid, false);
        assert.deepEqual(old.body.certificate.supersededBy, {
          verificationCode: replacement,
          verifyUrl: `${APP_URL}/verify/${replacement}`,
        });
        const fresh = await verifyApi(replacement);
        assert.equal(fresh.status, 200);
        assert.equal(fresh.body.status, "valid");
        assert.equal(fresh.body.certificate.recipientName, "Corrected Name");
        assert.equal(fresh.body.certificate.programTitle, "Orbital Mechanics");
        assert.equal(
          fresh.body.certificate.issuedAt,
          old.body.certificate.issuedAt,
          "same achievement, same date",
        );

        assert.match(
          ok(await cli(["certificates", "show", code]), "show old"),
          /^Status\s+superseded$/m,
        );
        const twice = failed(
          await cli(["certificates", "reissue", code]),
          "reissue a superseded certificate",
        );
        assert.match(
          twice,
          new RegExp(`already replaced by ${esc(replacement)}`),
        );
      },
    );

    await t.step(
      "revoke: needs --reason, then the verify API says revoked; a second revoke fails",
      async () => {
        assert.equal((await verifyApi(replacement)).body.status, "valid");
        const noReason = failed(
          await cli(["certificates", "revoke", replacement]),
          "revoke without --reason",
        );
        assert.match(noReason, /--reason/);
        assert.equal(
          (await ctx.deps.db.select().from(certificates).where(
            eq(certificates.code, replacement),
          ))[0]!.status,
          "valid",
          "nothing revoked without a reason",
        );

        assert.equal(
          ok(
            await cli([
              "certificates",
              "revoke",
              replacement.toLowerCase(),
              "--reason",
              "Plagiarism found",
            ]),
            "revoke",
          ),
          `Revoked ${replacement}: Plagiarism found\n`,
        );
        const revoked = await eventually(
          () => verifyApi(replacement),
          (res) => res.body.status === "revoked",
          "the verify API sees the revoke",
        );
        assert.equal(revoked.body.isValid, false);
        assert.equal(
          revoked.body.certificate.revocationReason,
          "Plagiarism found",
        );
        assert.ok(revoked.body.certificate.revokedAt);
        const shown = ok(
          await cli(["certificates", "show", replacement]),
          "show revoked",
        );
        assert.match(shown, /^Status\s+revoked$/m);
        assert.match(shown, /^Revoked\s+\S+: Plagiarism found$/m);

        const again = failed(
          await cli([
            "certificates",
            "revoke",
            replacement,
            "--reason",
            "Again",
          ]),
          "revoke twice",
        );
        assert.match(again, /already revoked/);
        const listed = ok(
          await cli(["certificates", "list", "--status", "revoked"]),
          "list --status revoked",
        );
        assert.match(
          listed,
          new RegExp(`^${esc(replacement)}\\s+revoked\\s`, "m"),
        );
        assert.match(listed, /^1 of 1$/m);
      },
    );

    await t.step(
      "reissue of a revoked certificate: refused without --force, done with it",
      async () => {
        const before = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, student.user.id),
        );
        const refused = failed(
          await cli(["certificates", "reissue", replacement]),
          "reissue a revoked certificate",
        );
        assert.match(refused, /revoked/);
        assert.match(refused, /--force/);
        assert.deepEqual(
          await ctx.deps.db.select().from(certificates).where(
            eq(certificates.userId, student.user.id),
          ),
          before,
          "nothing changed",
        );

        const out = ok(
          await cli(["certificates", "reissue", replacement, "--force"]),
          "reissue --force",
        );
        const third = new RegExp(
          `^Reissued ${esc(replacement)} as (${CODE.source})`,
        )
          .exec(out)?.[1];
        assert.ok(third, out);
        const fresh = await eventually(
          () => verifyApi(third),
          (res) => res.status === 200,
          "the forced reissue is found",
        );
        assert.equal(fresh.body.status, "valid");
        assert.equal(
          fresh.body.certificate.recipientName,
          "Corrected Name",
          "the corrected name carries over",
        );
        // The very first code now sends verifiers to the last certificate.
        const first = await eventually(
          () => verifyApi(code),
          (res) =>
            res.body.certificate?.supersededBy?.verificationCode === third,
          "the first code points to the latest",
        );
        assert.equal(first.body.status, "superseded");
      },
    );

    const statusOf = async (id: string) =>
      (await ctx.deps.db.select().from(certificates).where(
        eq(certificates.id, id),
      ))[0]?.status;

    await t.step({
      name:
        "revoke --reason with nothing but spaces is refused, as the API refuses it",
      fn: async () => {
        const target = await certifiedLearner(ctx);
        const result = await cli([
          "certificates",
          "revoke",
          target.certificate.code,
          "--reason",
          "   ",
        ]);
        assert.match(failed(result, "revoke with a blank reason"), /reason/i);
        assert.equal(await statusOf(target.certificate.id), "valid");
      },
    });

    await t.step({
      name:
        "reissue --name with nothing but spaces is refused (it would print a blank name)",
      fn: async () => {
        const target = await certifiedLearner(ctx);
        const result = await cli([
          "certificates",
          "reissue",
          target.certificate.code,
          "--name",
          "   ",
        ]);
        assert.match(failed(result, "reissue with a blank name"), /name/i);
        assert.equal(await statusOf(target.certificate.id), "valid");
      },
    });

    await t.step({
      name: 'issue --reason "" is refused: a manual certificate keeps a reason',
      fn: async () => {
        const someone = await namedLearner(ctx, "Reasonless Learner");
        const result = await cli([
          "certificates",
          "issue",
          "--user",
          someone.user.email,
          "--program",
          program.id,
          "--reason",
          "",
        ]);
        assert.match(failed(result, "issue with an empty reason"), /reason/i);
        const rows = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, someone.user.id),
        );
        assert.equal(rows.length, 0);
      },
    });
  } finally {
    await ctx.close();
  }
});
