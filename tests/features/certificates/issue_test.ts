import assert from "node:assert/strict";
import { verifyCredential } from "../../../server/features/certificates/credential.ts";
import { canonicalCode } from "../../../server/features/certificates/codes.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { enroll } from "../../helpers/factories.ts";
import { learner, programWithLesson } from "../payments/support.ts";
import { certificatesOf, FINAL_EXAM, sit } from "./support.ts";

Deno.test("certificates are issued once, on passing the final exam or completing the lessons", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await learner(ctx, "instructor");
    const { program } = await programWithLesson(ctx, teacher.user);
    const created = await api(ctx, "POST", "/api/quizzes", {
      token: teacher.token,
      body: {
        title: "Final exam",
        programId: program.id,
        certificateRole: "final",
        passingScore: 100,
        questions: FINAL_EXAM,
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const quizId = created.body.quiz.id;

    await t.step("a failed attempt issues nothing", async () => {
      const student = await learner(ctx);
      await enroll(ctx, student.user.id, program.id, "examSimulator");
      const result = await sit(ctx, student.token, quizId, false);
      assert.equal(result.body.result.passed, false);
      assert.equal(result.body.result.certificateGenerated, false);
      assert.equal((await certificatesOf(ctx, student.user.id)).length, 0);
    });

    await t.step(
      "passing issues a certificate with a signed credential and a PDF",
      async () => {
        const student = await learner(ctx);
        await enroll(ctx, student.user.id, program.id, "examSimulator");
        const result = await sit(ctx, student.token, quizId, true);
        assert.equal(result.body.result.certificateGenerated, true);
        const [certificate] = await certificatesOf(ctx, student.user.id);
        assert.ok(certificate);
        assert.equal(result.body.result.certificateId, certificate.id);
        assert.equal(certificate.basis, "quiz");
        assert.equal(certificate.score, 100);
        assert.equal(
          canonicalCode(certificate.code.toLowerCase()),
          certificate.code,
        );
        const checked = await verifyCredential(certificate.credential, [
          ctx.deps.signer.publicJwk,
        ]);
        assert.equal(checked.valid, true);
        const tampered = certificate.credential.replace(
          /\.([^.]+)\./,
          (_, body: string) =>
            `.${body.slice(0, 10)}${body[10] === "A" ? "B" : "A"}${
              body.slice(11)
            }.`,
        );
        assert.equal(
          (await verifyCredential(tampered, [ctx.deps.signer.publicJwk])).valid,
          false,
        );
        await ctx.deps.background.idle();
        const [stored] = await certificatesOf(ctx, student.user.id);
        assert.match(stored!.pdfSha256 ?? "", /^[0-9a-f]{64}$/);
        const file = await ctx.deps.storage.get(stored!.pdfKey!);
        const bytes = new Uint8Array(
          await new Response(file!.body).arrayBuffer(),
        );
        assert.equal(new TextDecoder().decode(bytes.slice(0, 5)), "%PDF-");

        // Passing again does not make a second one.
        const again = await sit(ctx, student.token, quizId, true);
        assert.equal(again.body.result.passed, true);
        assert.equal(again.body.result.certificateGenerated, false);
        assert.equal((await certificatesOf(ctx, student.user.id)).length, 1);
      },
    );

    await t.step("a double submit issues exactly one", async () => {
      const student = await learner(ctx);
      await enroll(ctx, student.user.id, program.id, "examSimulator");
      const started = await api(ctx, "POST", `/api/quizzes/${quizId}/start`, {
        token: student.token,
      });
      const answers = started.body.questions.map((
        q: { id: string; questionText: string },
      ) => ({
        questionId: q.id,
        selectedAnswer: q.questionText === "2 + 2?" ? "4" : "6",
      }));
      const submit = () =>
        api(ctx, "POST", `/api/quizzes/${quizId}/submit`, {
          token: student.token,
          body: { attemptId: started.body.attemptId, answers },
        });
      const [a, b] = await Promise.all([submit(), submit()]);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal((await certificatesOf(ctx, student.user.id)).length, 1);
    });

    await t.step("a practice attempt never certifies", async () => {
      const free = await programWithLesson(ctx, teacher.user, {
        freeQuestionsCount: 2,
      });
      const exam = await api(ctx, "POST", "/api/quizzes", {
        token: teacher.token,
        body: {
          title: "Final",
          programId: free.program.id,
          certificateRole: "final",
          questions: FINAL_EXAM,
        },
      });
      const student = await learner(ctx);
      const result = await sit(ctx, student.token, exam.body.quiz.id, true);
      assert.equal(result.body.result.mode, "practice");
      assert.equal(result.body.result.passed, true);
      assert.equal((await certificatesOf(ctx, student.user.id)).length, 0);
    });

    await t.step(
      "without a final exam, completing every lesson issues it",
      async () => {
        const course = await programWithLesson(ctx, teacher.user);
        const student = await learner(ctx);
        await enroll(ctx, student.user.id, course.program.id, "bundle");
        const done = await api(ctx, "POST", "/api/progress/update", {
          token: student.token,
          body: {
            programId: course.program.id,
            lessonId: course.lessonId,
            completed: true,
          },
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
        const [certificate] = await certificatesOf(ctx, student.user.id);
        assert.equal(certificate?.basis, "completion");
        assert.equal(certificate?.score, null);
        await ctx.deps.background.idle();
      },
    );
  } finally {
    await ctx.close();
  }
});
