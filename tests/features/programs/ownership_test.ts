import assert from "node:assert/strict";
import { count } from "drizzle-orm";
import sharp from "sharp";
import { media } from "../../../db/schema/mod.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  endAccess,
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

type Who = "anonymous" | "student" | "other instructor" | "owner" | "admin";
const DENIED: [Who, number, string][] = [
  ["anonymous", 401, "UNAUTHENTICATED"],
  ["student", 403, "FORBIDDEN"],
  ["other instructor", 403, "FORBIDDEN"],
];

async function pngBlob(size = 24): Promise<Blob> {
  const buffer = await sharp({
    create: { width: size, height: size, channels: 3, background: "#a37" },
  }).png().toBuffer();
  return new Blob([new Uint8Array(buffer)], { type: "image/png" });
}

async function sendForm(
  ctx: TestContext,
  method: string,
  path: string,
  form: FormData,
  token?: string,
): Promise<ApiResponse> {
  const response = await ctx.app.request(path, {
    method,
    body: form,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, body };
}

Deno.test("who may change a program, its curriculum and its media", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const other = await makeUserAndLogin(ctx, { role: "instructor" });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const student = await makeUserAndLogin(ctx, { role: "student" });
    const tokens: Record<Who, string | undefined> = {
      anonymous: undefined,
      student: student.token,
      "other instructor": other.token,
      owner: owner.token,
      admin: admin.token,
    };
    const program = await makeProgram(ctx, owner.user, {
      title: "Owned Program",
    });
    const base = `/api/programs/${program.id}`;

    const addModule = async (title = "A module") => {
      const res = await api(ctx, "POST", `${base}/modules`, {
        token: owner.token,
        body: { title },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.module.id as string;
    };
    const addLesson = async (moduleId: string, content = "Lesson body") => {
      const res = await api(
        ctx,
        "POST",
        `${base}/modules/${moduleId}/lessons`,
        {
          token: owner.token,
          body: { title: "A lesson", content, estimatedMinutes: 10 },
        },
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.lesson.id as string;
    };
    const addMedia = async (visibility = "private") => {
      const form = new FormData();
      form.set("file", await pngBlob(), "figure.png");
      form.set("visibility", visibility);
      const res = await sendForm(
        ctx,
        "POST",
        `${base}/media`,
        form,
        owner.token,
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.media.id as string;
    };
    const outline = async () =>
      (await api(ctx, "GET", `${base}/curriculum`)).body.curriculum;
    const detail = async () =>
      (await api(ctx, "GET", base, { token: admin.token })).body.program;
    const mediaList = async () =>
      (await api(ctx, "GET", `${base}/media`, { token: admin.token })).body
        .media;
    /** Everything a write could change, as the owner's program's admin sees it. */
    const snapshot = async (extra?: () => Promise<unknown>) => ({
      outline: await outline(),
      detail: await detail(),
      media: await mediaList(),
      extra: extra ? await extra() : null,
    });

    const moduleId = await addModule("Fixed module");
    const lessonId = await addLesson(moduleId, "Secret lesson words");

    /**
     * Runs one write as every kind of caller: the denied ones first, checking that they changed
     * nothing, then the owner and the admin (each with a fresh target from `prepare`).
     */
    const matrix = async (
      request: (
        token: string | undefined,
        target: string,
      ) => Promise<ApiResponse>,
      prepare: () => Promise<string>,
      allowed: number,
      extra?: (target: string) => Promise<unknown>,
    ) => {
      const target = await prepare();
      const before = await snapshot(extra && (() => extra(target)));
      for (const [who, status, code] of DENIED) {
        const res = await request(tokens[who], target);
        assert.equal(res.status, status, `${who}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, code, who);
      }
      assert.deepEqual(
        await snapshot(extra && (() => extra(target))),
        before,
        "denied writes change nothing",
      );
      for (const who of ["owner", "admin"] as const) {
        const res = await request(
          tokens[who],
          who === "owner" ? target : await prepare(),
        );
        assert.equal(
          res.status,
          allowed,
          `${who}: ${JSON.stringify(res.body)}`,
        );
        assert.equal(res.body.success, true);
      }
    };
    const fixed = (value: string) => () => Promise.resolve(value);

    await t.step(
      "POST /api/programs: anonymous 401, student 403, instructor and admin 201",
      async () => {
        const body = { title: "Anyone's Program", category: "Development" };
        assert.equal(
          (await api(ctx, "POST", "/api/programs", { body })).status,
          401,
        );
        const byStudent = await api(ctx, "POST", "/api/programs", {
          token: student.token,
          body,
        });
        assert.equal(byStudent.status, 403);
        assert.equal(byStudent.body.error.code, "FORBIDDEN");
        for (const who of [other, admin]) {
          const res = await api(ctx, "POST", "/api/programs", {
            token: who.token,
            body,
          });
          assert.equal(res.status, 201);
          assert.equal(res.body.program.instructor.id, who.user.id);
        }
      },
    );

    await t.step(
      "PUT /api/programs/:id: anonymous 401, student and other instructor 403, owner and admin 200",
      async () => {
        await matrix(
          (token) =>
            api(ctx, "PUT", base, {
              token,
              body: { description: `Edited ${Math.random()}` },
            }),
          fixed(program.id),
          200,
        );
        const after = await detail();
        assert.equal(after.instructor.id, owner.user.id, "the owner stays");
      },
    );

    await t.step(
      "multipart PUT with a thumbnail by another instructor is 403 and stores no upload",
      async () => {
        const mediaRows = async () =>
          (await ctx.deps.db.select({ n: count() }).from(media))[0]!.n;
        const before = await mediaRows();
        const form = new FormData();
        form.set("title", "Hijacked");
        form.set("thumbnail", await pngBlob(30), "hijack.png");
        const res = await sendForm(ctx, "PUT", base, form, other.token);
        assert.equal(res.status, 403);
        assert.equal(await mediaRows(), before, "no media record was stored");
        const after = await detail();
        assert.equal(after.title, "Owned Program");
        assert.equal(after.thumbnail, null);
      },
    );

    await t.step(
      "DELETE /api/programs/:id: anonymous 401, student and other instructor 403, owner and admin 200",
      async () => {
        const victims: string[] = [];
        await matrix(
          (token, id) => api(ctx, "DELETE", `/api/programs/${id}`, { token }),
          async () => {
            const p = await makeProgram(ctx, owner.user);
            victims.push(p.id);
            return p.id;
          },
          200,
          async (id) =>
            (await api(ctx, "GET", `/api/programs/${id}`, {
              token: admin.token,
            })).body,
        );
        for (const id of victims) {
          const res = await api(ctx, "GET", `/api/programs/${id}`);
          assert.equal(res.status, 404, "deleted by owner or admin");
        }
      },
    );

    await t.step(
      "POST /api/programs/:id/modules: 401, 403, 403, then 201 for owner and admin",
      async () => {
        await matrix(
          (token) =>
            api(ctx, "POST", `${base}/modules`, {
              token,
              body: { title: "Added module" },
            }),
          fixed(program.id),
          201,
        );
      },
    );

    await t.step(
      "PUT /api/programs/:id/modules/:moduleId: 401, 403, 403, then 200 for owner and admin",
      async () => {
        await matrix(
          (token, id) =>
            api(ctx, "PUT", `${base}/modules/${id}`, {
              token,
              body: { title: `Renamed ${Math.random()}` },
            }),
          fixed(moduleId),
          200,
        );
      },
    );

    await t.step(
      "DELETE /api/programs/:id/modules/:moduleId: 401, 403, 403, then 200 for owner and admin",
      async () => {
        await matrix(
          (token, id) => api(ctx, "DELETE", `${base}/modules/${id}`, { token }),
          () => addModule("Doomed module"),
          200,
        );
      },
    );

    await t.step(
      "POST /api/programs/:id/modules/:moduleId/lessons: 401, 403, 403, then 201 for owner and admin",
      async () => {
        await matrix(
          (token) =>
            api(ctx, "POST", `${base}/modules/${moduleId}/lessons`, {
              token,
              body: { title: "Added lesson", content: "x" },
            }),
          fixed(moduleId),
          201,
        );
      },
    );

    await t.step(
      "PUT /api/programs/:id/lessons/:lessonId: 401, 403, 403, then 200 for owner and admin",
      async () => {
        await matrix(
          (token, id) =>
            api(ctx, "PUT", `${base}/lessons/${id}`, {
              token,
              body: { estimatedMinutes: Math.floor(Math.random() * 100) + 20 },
            }),
          fixed(lessonId),
          200,
        );
      },
    );

    await t.step(
      "DELETE /api/programs/:id/lessons/:lessonId: 401, 403, 403, then 200 for owner and admin",
      async () => {
        await matrix(
          (token, id) => api(ctx, "DELETE", `${base}/lessons/${id}`, { token }),
          () => addLesson(moduleId, "to be deleted"),
          200,
        );
      },
    );

    await t.step(
      "PUT /api/programs/:id/curriculum/order: 401, 403, 403, then 200 for owner and admin",
      async () => {
        const current = await outline();
        const reversed = {
          modules: [...current].reverse().map((
            m: { id: string; lessonList: { id: string }[] },
          ) => ({ id: m.id, lessonIds: m.lessonList.map((l) => l.id) })),
        };
        await matrix(
          (token) =>
            api(ctx, "PUT", `${base}/curriculum/order`, {
              token,
              body: reversed,
            }),
          fixed(program.id),
          200,
        );
        assert.deepEqual(
          (await outline()).map((m: { id: string }) => m.id),
          reversed.modules.map((m) => m.id),
        );
      },
    );

    await t.step(
      "POST /api/programs/:id/media: 401, 403, 403, then 201 for owner and admin",
      async () => {
        const blob = await pngBlob(28);
        await matrix(
          (token) => {
            const form = new FormData();
            form.set("file", blob, "upload.png");
            return sendForm(ctx, "POST", `${base}/media`, form, token);
          },
          fixed(program.id),
          201,
        );
      },
    );

    await t.step(
      "GET /api/programs/:id/media: 401, 403, 403, then 200 for owner and admin",
      async () => {
        await matrix(
          (token) => api(ctx, "GET", `${base}/media`, { token }),
          fixed(program.id),
          200,
        );
        const list = await api(ctx, "GET", `${base}/media`, {
          token: owner.token,
        });
        assert.ok(list.body.media.length >= 2);
      },
    );

    await t.step(
      "DELETE /api/programs/:id/media/:mediaId: 401, 403, 403, then 200 for owner and admin",
      async () => {
        const removed: string[] = [];
        await matrix(
          (token, id) => {
            removed.push(id);
            return api(ctx, "DELETE", `${base}/media/${id}`, { token });
          },
          () => addMedia(),
          200,
        );
        const list = await api(ctx, "GET", `${base}/media`, {
          token: owner.token,
        });
        const left = list.body.media.map((m: { id: string }) => m.id);
        for (const id of removed) assert.ok(!left.includes(id));
      },
    );

    await t.step(
      "a draft is 404 for the public, students and other instructors; visible to its owner and admins",
      async () => {
        const draft = await makeProgram(ctx, owner.user, {
          title: "Secret Draft",
          status: "draft",
        });
        for (const ref of [draft.id, "secret-draft"]) {
          for (
            const who of ["anonymous", "student", "other instructor"] as const
          ) {
            const res = await api(ctx, "GET", `/api/programs/${ref}`, {
              token: tokens[who],
            });
            assert.equal(res.status, 404, `${who} ${ref}`);
            assert.equal(res.body.error.code, "NOT_FOUND");
          }
          for (const who of ["owner", "admin"] as const) {
            const res = await api(ctx, "GET", `/api/programs/${ref}`, {
              token: tokens[who],
            });
            assert.equal(res.status, 200, `${who} ${ref}`);
            assert.equal(res.body.program.status, "draft");
          }
        }
        for (
          const who of ["anonymous", "student", "other instructor"] as const
        ) {
          const res = await api(
            ctx,
            "GET",
            `/api/programs/${draft.id}/curriculum`,
            {
              token: tokens[who],
            },
          );
          assert.equal(res.status, 404, `${who}: curriculum of a draft`);
        }
        const edit = await api(ctx, "PUT", `/api/programs/${draft.id}`, {
          token: other.token,
          body: { title: "Mine now" },
        });
        assert.equal(edit.status, 404, "another instructor cannot even see it");
        for (const who of ["owner", "admin"] as const) {
          const res = await api(
            ctx,
            "GET",
            `/api/programs/${draft.id}/curriculum`,
            { token: tokens[who] },
          );
          assert.equal(res.status, 200, `${who}: curriculum of a draft`);
        }
        const draftModule = await api(
          ctx,
          "POST",
          `/api/programs/${draft.id}/modules`,
          { token: owner.token, body: { title: "Draft module" } },
        );
        assert.equal(draftModule.status, 201);
        const draftLesson = await api(
          ctx,
          "POST",
          `/api/programs/${draft.id}/modules/${draftModule.body.module.id}/lessons`,
          { token: owner.token, body: { title: "Draft lesson", content: "x" } },
        );
        const lessonPath =
          `/api/programs/${draft.id}/lessons/${draftLesson.body.lesson.id}`;
        assert.equal(
          (await api(ctx, "GET", lessonPath, { token: other.token })).status,
          404,
          "a draft's lesson is hidden from another instructor",
        );
        assert.equal(
          (await api(ctx, "GET", lessonPath, { token: admin.token })).status,
          200,
        );
        const list = await api(ctx, "GET", "/api/programs?limit=100");
        assert.ok(
          !list.body.programs.some((p: { id: string }) => p.id === draft.id),
          "a draft is not in the public list",
        );
      },
    );

    await t.step(
      "lesson content: owner, admin and learners with documentation or bundle access get 200",
      async () => {
        const doc = await makeUserAndLogin(ctx, { role: "student" });
        const bundle = await makeUserAndLogin(ctx, { role: "student" });
        await enroll(ctx, doc.user.id, program.id, "documentation");
        await enroll(ctx, bundle.user.id, program.id, "bundle");
        for (
          const token of [owner.token, admin.token, doc.token, bundle.token]
        ) {
          const res = await api(ctx, "GET", `${base}/lessons/${lessonId}`, {
            token,
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.lesson.id, lessonId);
          assert.equal(res.body.lesson.content, "Secret lesson words");
          assert.equal(
            res.body.lesson.contentHtml.trim(),
            "<p>Secret lesson words</p>",
          );
        }
      },
    );

    await t.step(
      "lesson content: chatbot-only, exam-only or no enrollment is 402 PAYMENT_REQUIRED with the options; anonymous 401",
      async () => {
        const chatbot = await makeUserAndLogin(ctx, { role: "student" });
        const exam = await makeUserAndLogin(ctx, { role: "student" });
        await enroll(ctx, chatbot.user.id, program.id, "chatbot");
        await enroll(ctx, exam.user.id, program.id, "examSimulator");
        for (
          const token of [chatbot.token, exam.token, student.token, other.token]
        ) {
          const res = await api(ctx, "GET", `${base}/lessons/${lessonId}`, {
            token,
          });
          assert.equal(res.status, 402);
          assert.equal(res.body.success, false);
          assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
          assert.deepEqual(res.body.error.details, {
            feature: "documentation",
            programId: program.id,
            currency: "USD",
            options: [
              { accessType: "documentation", price: 14.99 },
              { accessType: "bundle", price: 34.99 },
            ],
            plans: ["basic", "premium"],
            upgradeUrl: "/api/subscriptions/plans",
          });
          assert.ok(!JSON.stringify(res.body).includes("Secret lesson words"));
        }
        const anonymous = await api(ctx, "GET", `${base}/lessons/${lessonId}`);
        assert.equal(anonymous.status, 401);
      },
    );

    await t.step(
      "a cancelled documentation enrollment no longer opens lesson content (402)",
      async () => {
        const lapsed = await makeUserAndLogin(ctx, { role: "student" });
        await enroll(ctx, lapsed.user.id, program.id, "documentation");
        const before = await api(ctx, "GET", `${base}/lessons/${lessonId}`, {
          token: lapsed.token,
        });
        assert.equal(before.status, 200);
        await endAccess(ctx, lapsed.user.id, program.id);
        const after = await api(ctx, "GET", `${base}/lessons/${lessonId}`, {
          token: lapsed.token,
        });
        assert.equal(after.status, 402);
      },
    );

    await t.step(
      "private program media is served to those with documentation access only",
      async () => {
        const mediaId = await addMedia("private");
        const doc = await makeUserAndLogin(ctx, { role: "student" });
        const chat = await makeUserAndLogin(ctx, { role: "student" });
        await enroll(ctx, doc.user.id, program.id, "documentation");
        await enroll(ctx, chat.user.id, program.id, "chatbot");
        const fetchAs = async (token?: string) => {
          const res = await ctx.app.request(`/media/${mediaId}`, {
            headers: token ? { Authorization: `Bearer ${token}` } : {},
          });
          await res.body?.cancel();
          return res.status;
        };
        assert.equal(await fetchAs(owner.token), 200);
        assert.equal(await fetchAs(admin.token), 200);
        assert.equal(await fetchAs(doc.token), 200);
        assert.equal(await fetchAs(), 404);
        assert.equal(await fetchAs(chat.token), 404);
        assert.equal(await fetchAs(other.token), 404);
      },
    );

    await t.step(
      "the public outline and program page never include lesson content",
      async () => {
        for (const token of [undefined, student.token, owner.token]) {
          const res = await api(ctx, "GET", `${base}/curriculum`, { token });
          assert.equal(res.status, 200);
          const page = await api(ctx, "GET", base, { token });
          for (const body of [res.body, page.body]) {
            const text = JSON.stringify(body);
            assert.ok(!text.includes("Secret lesson words"), text);
            assert.ok(!text.includes("contentHtml"));
          }
          for (const module of res.body.curriculum) {
            for (const lesson of module.lessonList) {
              assert.deepEqual(Object.keys(lesson).sort(), [
                "estimatedMinutes",
                "hasMedia",
                "id",
                "title",
              ]);
            }
          }
          assert.ok(
            res.body.curriculum.some((m: { lessons: number }) => m.lessons > 0),
            "the outline does list lessons",
          );
        }
      },
    );
  } finally {
    await ctx.close();
  }
});
