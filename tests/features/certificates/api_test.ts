import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { certificates, outboxMessages } from "../../../db/schema/mod.ts";
import { verifyCredential } from "../../../server/features/certificates/credential.ts";
import { sha256Hex } from "../../../server/lib/storage.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll } from "../../helpers/factories.ts";
import { learner, programWithLesson } from "../payments/support.ts";
import { certifiedLearner, FINAL_EXAM, sit } from "./support.ts";

const emailsTo = (
  ctx: Awaited<ReturnType<typeof createTestContext>>,
  to: string,
) => ctx.deps.db.select().from(outboxMessages).where(eq(outboxMessages.to, to));

Deno.test("certificates through the API: read, download, list, issue, revoke, reissue", async (t) => {
  const ctx = await createTestContext();
  try {
    const { admin, teacher, student, program, certificate } =
      await certifiedLearner(ctx);
    const stranger = await learner(ctx);

    await t.step(
      "GET /api/certificates/:id in 002's shape for the learner, the program's instructor and admins",
      async () => {
        for (const who of [student, teacher, admin]) {
          const res = await api(
            ctx,
            "GET",
            `/api/certificates/${certificate.id}`,
            { token: who.token },
          );
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const body = res.body.certificate;
          assert.equal(body.verificationCode, certificate.code);
          assert.deepEqual(body.user, {
            name: student.user.name,
            id: student.user.id,
          });
          assert.deepEqual(body.program, {
            title: program.title,
            id: program.id,
          });
          assert.equal(body.isValid, true);
          assert.equal(body.status, "valid");
          assert.equal(body.basis, "manual");
          assert.equal(body.reason, "Test fixture");
          assert.equal(
            body.certificateUrl,
            `http://lectern.test/api/certificates/${certificate.id}/download`,
          );
          assert.equal(
            body.shareableLink,
            `http://lectern.test/verify/${certificate.code}`,
          );
        }
        const hidden = await api(
          ctx,
          "GET",
          `/api/certificates/${certificate.id}`,
          { token: stranger.token },
        );
        assert.equal(hidden.status, 404);
        assert.equal(
          (await api(ctx, "GET", `/api/certificates/${certificate.id}`))
            .status,
          401,
        );
      },
    );

    await t.step(
      "the PDF downloads for its learner with the SHA-256 on record",
      async () => {
        const res = await ctx.app.request(
          `/api/certificates/${certificate.id}/download`,
          { headers: { Authorization: `Bearer ${student.token}` } },
        );
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/pdf");
        assert.match(
          res.headers.get("content-disposition") ?? "",
          new RegExp(`certificate-${certificate.code}\\.pdf`),
        );
        const bytes = new Uint8Array(await res.arrayBuffer());
        assert.equal(new TextDecoder().decode(bytes.slice(0, 5)), "%PDF-");
        const [stored] = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.id, certificate.id),
        );
        assert.equal(await sha256Hex(bytes), stored!.pdfSha256);
        assert.equal(res.headers.get("etag"), `"${stored!.pdfSha256}"`);

        const forInstructor = await api(
          ctx,
          "GET",
          `/api/certificates/${certificate.id}/download`,
          { token: teacher.token },
        );
        assert.equal(forInstructor.status, 404, "the PDF is the learner's");
      },
    );

    await t.step(
      "the credential downloads and verifies against the published JWKS",
      async () => {
        const res = await ctx.app.request(
          `/api/certificates/${certificate.id}/credential`,
          { headers: { Authorization: `Bearer ${student.token}` } },
        );
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/vc+jwt");
        const jwt = await res.text();
        const jwks = await api(ctx, "GET", "/.well-known/jwks.json");
        assert.equal(jwks.status, 200);
        assert.equal(jwks.body.keys[0].kty, "OKP");
        assert.equal(jwks.body.keys[0].d, undefined, "no private part");
        const checked = await verifyCredential(jwt, jwks.body.keys);
        assert.equal(checked.valid, true);
        if (checked.valid) {
          assert.equal(checked.payload.sub, certificate.code);
          const vc = checked.payload.vc as { type: string[] };
          assert.ok(vc.type.includes("OpenBadgeCredential"));
        }
      },
    );

    await t.step(
      "GET /api/users/certificates (and /api/user/) lists the learner's own with shareableLink",
      async () => {
        for (
          const path of ["/api/users/certificates", "/api/user/certificates"]
        ) {
          const res = await api(ctx, "GET", path, { token: student.token });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.certificates.length, 1);
          const [item] = res.body.certificates;
          assert.equal(item.id, certificate.id);
          assert.equal(item.programTitle, program.title);
          assert.equal(item.verificationCode, certificate.code);
          assert.equal(
            item.shareableLink,
            `http://lectern.test/verify/${certificate.code}`,
          );
          assert.equal(res.body.pagination.total, 1);
        }
        const none = await api(ctx, "GET", "/api/users/certificates", {
          token: stranger.token,
        });
        assert.deepEqual(none.body.certificates, []);
      },
    );

    await t.step(
      "manual issue: admins only, a reason is required, Idempotency-Key replays, a second is refused politely",
      async () => {
        const other = await learner(ctx);
        const body = {
          userId: other.user.id,
          programId: program.id,
          reason: "Completed the course on paper",
        };
        const byTeacher = await api(
          ctx,
          "POST",
          "/api/admin/certificates/issue",
          { token: teacher.token, body },
        );
        assert.equal(byTeacher.status, 403);
        const noReason = await api(
          ctx,
          "POST",
          "/api/admin/certificates/issue",
          { token: admin.token, body: { ...body, reason: "  " } },
        );
        assert.equal(noReason.status, 422);
        assert.ok(noReason.body.error.details.fields.reason);

        const headers = { "Idempotency-Key": "issue-1" };
        const first = await api(ctx, "POST", "/api/admin/certificates/issue", {
          token: admin.token,
          body,
          headers,
        });
        assert.equal(first.status, 201, JSON.stringify(first.body));
        assert.equal(first.body.created, true);
        assert.equal(first.body.certificate.reason, body.reason);
        assert.match(first.body.certificate.pdfSha256, /^[0-9a-f]{64}$/);
        const replay = await api(ctx, "POST", "/api/admin/certificates/issue", {
          token: admin.token,
          body,
          headers,
        });
        assert.equal(replay.status, 201);
        assert.equal(replay.body.certificate.id, first.body.certificate.id);

        const again = await api(ctx, "POST", "/api/admin/certificates/issue", {
          token: admin.token,
          body,
        });
        assert.equal(again.status, 200);
        assert.equal(again.body.created, false);
        assert.equal(again.body.certificate.id, first.body.certificate.id);
        const rows = await ctx.deps.db.select().from(certificates).where(
          eq(certificates.userId, other.user.id),
        );
        assert.equal(rows.length, 1);
        const mails = await emailsTo(ctx, other.user.email);
        assert.equal(
          mails.filter((m) => m.template === "certificate_issued").length,
          1,
        );
      },
    );

    await t.step(
      "002's generate checks the attempt on the server and ignores the caller's score",
      async () => {
        const exam = await api(ctx, "POST", "/api/quizzes", {
          token: teacher.token,
          body: {
            title: "Exam (not the final)",
            programId: program.id,
            passingScore: 100,
            questions: FINAL_EXAM,
          },
        });
        assert.equal(exam.status, 201, JSON.stringify(exam.body));
        const quizId = exam.body.quiz.id;
        const taker = await learner(ctx);
        await enroll(ctx, taker.user.id, program.id, "examSimulator");
        const failed = await sit(ctx, taker.token, quizId, false);
        const refused = await api(
          ctx,
          "POST",
          "/api/certificates/generate",
          {
            token: admin.token,
            body: {
              userId: taker.user.id,
              programId: program.id,
              quizAttemptId: failed.body.result.attemptId,
              score: 100,
            },
          },
        );
        assert.equal(refused.status, 422, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, "QUIZ_NOT_PASSED");

        const passed = await sit(ctx, taker.token, quizId, true);
        assert.equal(
          passed.body.result.certificateGenerated,
          false,
          "a quiz without a certificate role issues nothing by itself",
        );
        const byStudent = await api(
          ctx,
          "POST",
          "/api/certificates/generate",
          {
            token: taker.token,
            body: { userId: taker.user.id, programId: program.id },
          },
        );
        assert.equal(byStudent.status, 403);
        const made = await api(ctx, "POST", "/api/certificates/generate", {
          token: admin.token,
          body: {
            userId: taker.user.id,
            programId: program.id,
            quizAttemptId: passed.body.result.attemptId,
            score: 12,
          },
        });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        assert.equal(made.body.certificate.score, 100);
        assert.equal(made.body.certificate.basis, "quiz");

        const unmet = await learner(ctx);
        const noRule = await api(ctx, "POST", "/api/certificates/generate", {
          token: admin.token,
          body: { userId: unmet.user.id, programId: program.id },
        });
        assert.equal(noRule.status, 422);
        assert.equal(noRule.body.error.code, "REQUIREMENTS_NOT_MET");
      },
    );

    await t.step(
      "revoke: reason required, status revoked everywhere, learner emailed, no second revoke",
      async () => {
        const target = await certifiedLearner(ctx);
        const path =
          `/api/admin/certificates/${target.certificate.code.toLowerCase()}/revoke`;
        const noReason = await api(ctx, "POST", path, {
          token: admin.token,
          body: {},
        });
        assert.equal(noReason.status, 422);
        const res = await api(ctx, "POST", path, {
          token: admin.token,
          body: { reason: "Exam misconduct" },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.certificate.status, "revoked");
        assert.equal(res.body.certificate.isValid, false);
        assert.equal(res.body.certificate.revocationReason, "Exam misconduct");

        const verify = await api(
          ctx,
          "GET",
          `/api/certificates/verify/${target.certificate.code}`,
        );
        assert.equal(verify.body.isValid, false);
        assert.equal(verify.body.status, "revoked");
        assert.equal(
          verify.body.certificate.revocationReason,
          "Exam misconduct",
        );
        const mails = await emailsTo(ctx, target.student.user.email);
        const notice = mails.find((m) => m.template === "certificate_revoked");
        assert.ok(notice);
        assert.match(notice.text, /Exam misconduct/);

        const twice = await api(ctx, "POST", path, {
          token: admin.token,
          body: { reason: "again" },
        });
        assert.equal(twice.status, 409);
      },
    );

    await t.step(
      "reissue: a new code and PDF, the old one superseded and pointing to it; revoked ones need force",
      async () => {
        const target = await certifiedLearner(ctx);
        const res = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${target.certificate.id}/reissue`,
          {
            token: admin.token,
            body: { name: "José Müller", reason: "Name corrected" },
          },
        );
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const fresh = res.body.certificate;
        assert.notEqual(fresh.verificationCode, target.certificate.code);
        assert.equal(fresh.user.name, "José Müller");
        assert.equal(fresh.issuedAt, target.certificate.issuedAt.toISOString());
        assert.match(fresh.pdfSha256, /^[0-9a-f]{64}$/);
        assert.equal(res.body.replaced.status, "superseded");
        assert.equal(res.body.replaced.replacedBy, fresh.verificationCode);

        const old = await api(
          ctx,
          "GET",
          `/api/certificates/verify/${target.certificate.code}`,
        );
        assert.equal(old.body.status, "superseded");
        assert.equal(
          old.body.certificate.supersededBy.verificationCode,
          fresh.verificationCode,
        );
        const again = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${target.certificate.id}/reissue`,
          { token: admin.token, body: {} },
        );
        assert.equal(again.status, 409);
        const mails = await emailsTo(ctx, target.student.user.email);
        assert.ok(mails.some((m) => m.template === "certificate_reissued"));
        const mine = await api(ctx, "GET", "/api/users/certificates", {
          token: target.student.token,
        });
        assert.deepEqual(
          mine.body.certificates.map((c: { id: string }) => c.id),
          [fresh.id],
          "the superseded one is not listed",
        );

        // Revoked: refused without force, allowed with it.
        await api(
          ctx,
          "POST",
          `/api/admin/certificates/${fresh.id}/revoke`,
          { token: admin.token, body: { reason: "Issued in error" } },
        );
        const refused = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${fresh.id}/reissue`,
          { token: admin.token, body: {} },
        );
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "CERTIFICATE_REVOKED");
        const forced = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${fresh.id}/reissue`,
          { token: admin.token, body: { force: true } },
        );
        assert.equal(forced.status, 201, JSON.stringify(forced.body));
        assert.equal(forced.body.certificate.status, "valid");
        assert.equal(forced.body.certificate.user.name, "José Müller");
        const page = await ctx.app.request(
          `/verify/${fresh.verificationCode}`,
        );
        const html = await page.text();
        assert.match(html, /Replaced by a newer certificate/);
        assert.match(html, /It had been revoked on .*Issued in error/);
        assert.ok(html.includes(forced.body.certificate.verificationCode));
      },
    );

    await t.step(
      "admins list every certificate with filters",
      async () => {
        const res = await api(
          ctx,
          "GET",
          `/api/admin/certificates?programId=${program.id}&status=valid`,
          { token: admin.token },
        );
        assert.equal(res.status, 200);
        assert.ok(res.body.certificates.length >= 3);
        assert.ok(
          res.body.certificates.every((c: { program: { id: string } }) =>
            c.program.id === program.id
          ),
        );
        const byName = await api(
          ctx,
          "GET",
          `/api/admin/certificates?search=${
            encodeURIComponent(certificate.code.slice(0, 14))
          }`,
          { token: admin.token },
        );
        assert.ok(
          byName.body.certificates.some((c: { id: string }) =>
            c.id === certificate.id
          ),
        );
        const denied = await api(ctx, "GET", "/api/admin/certificates", {
          token: student.token,
        });
        assert.equal(denied.status, 403);
      },
    );

    await t.step(
      "a program's validity period and rule are part of the program API",
      async () => {
        const res = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: teacher.token,
          body: {
            certificateValidityDays: 365,
            certificateRule: {
              finalExam: false,
              requiredQuizzes: false,
              allLessons: true,
            },
          },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body.program.certificate, {
          rule: { finalExam: false, requiredQuizzes: false, allLessons: true },
          validityDays: 365,
        });
        const empty = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: teacher.token,
          body: {
            certificateRule: {
              finalExam: false,
              requiredQuizzes: false,
              allLessons: false,
            },
          },
        });
        assert.equal(empty.status, 422);
        const other = await programWithLesson(ctx, teacher.user, {
          certificateValidityDays: 30,
        });
        const issued = await api(ctx, "POST", "/api/admin/certificates/issue", {
          token: admin.token,
          body: {
            userId: stranger.user.id,
            programId: other.program.id,
            reason: "Validity test",
          },
        });
        const days = (Date.parse(issued.body.certificate.expiresAt) -
          Date.parse(issued.body.certificate.issuedAt)) / 86_400_000;
        assert.equal(days, 30);

        // Past its date it lists as expired, not valid.
        await ctx.deps.db.update(certificates).set({
          expiresAt: new Date(Date.now() - 1000),
        }).where(eq(certificates.id, issued.body.certificate.id));
        const listed = async (status: string) =>
          (await api(
            ctx,
            "GET",
            `/api/admin/certificates?programId=${other.program.id}&status=${status}`,
            { token: admin.token },
          )).body.certificates.map((c: { id: string }) => c.id);
        assert.deepEqual(await listed("expired"), [issued.body.certificate.id]);
        assert.deepEqual(await listed("valid"), []);

        // An expired certificate does not block a new one: issuing again renews it.
        const renewed = await api(
          ctx,
          "POST",
          "/api/admin/certificates/issue",
          {
            token: admin.token,
            body: {
              userId: stranger.user.id,
              programId: other.program.id,
              reason: "Renewal",
            },
          },
        );
        assert.equal(renewed.status, 201, JSON.stringify(renewed.body));
        assert.equal(renewed.body.created, true);
        assert.equal(renewed.body.certificate.status, "valid");
        assert.ok(
          Date.parse(renewed.body.certificate.expiresAt) > Date.now() +
              29 * 86_400_000,
        );
        const old = await api(
          ctx,
          "GET",
          `/api/certificates/verify/${issued.body.certificate.verificationCode}`,
        );
        assert.equal(old.body.status, "superseded");
        assert.equal(
          old.body.certificate.supersededBy.verificationCode,
          renewed.body.certificate.verificationCode,
        );

        // Search takes % and _ literally.
        await ctx.deps.db.update(certificates).set({
          recipientName: "Ann 100% Smith",
        }).where(eq(certificates.id, renewed.body.certificate.id));
        const found = async (search: string) =>
          (await api(
            ctx,
            "GET",
            `/api/admin/certificates?search=${encodeURIComponent(search)}`,
            { token: admin.token },
          )).body.certificates.map((c: { id: string }) => c.id);
        assert.deepEqual(await found("100%"), [renewed.body.certificate.id]);
        assert.deepEqual(await found("100_"), []);
      },
    );
  } finally {
    await ctx.close();
  }
});
