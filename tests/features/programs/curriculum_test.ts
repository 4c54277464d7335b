import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { lessons, modules } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";

interface OutlineModule {
  id: string;
  title: string;
  description: string;
  lessons: number;
  duration: string;
  durationMinutes: number;
  lessonList: {
    id: string;
    title: string;
    estimatedMinutes: number;
    hasMedia: boolean;
  }[];
}

Deno.test("building a program's curriculum: modules, lessons, order", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const program = await makeProgram(ctx, owner.user, {
      title: "Curriculum Program",
    });
    const otherProgram = await makeProgram(ctx, owner.user, {
      title: "Another Program",
    });
    const base = `/api/programs/${program.id}`;
    const otherBase = `/api/programs/${otherProgram.id}`;
    const as = { token: owner.token };

    const outline = async (): Promise<OutlineModule[]> => {
      const res = await api(ctx, "GET", `${base}/curriculum`);
      assert.equal(res.status, 200);
      return res.body.curriculum;
    };
    const addModule = async (
      title: string,
      description?: string,
    ): Promise<ModuleOut> => {
      const res = await api(ctx, "POST", `${base}/modules`, {
        ...as,
        body: description === undefined ? { title } : { title, description },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.module;
    };
    const addLesson = async (
      moduleId: string,
      title: string,
      estimatedMinutes: number,
      content = `Content of ${title}`,
    ) => {
      const res = await api(
        ctx,
        "POST",
        `${base}/modules/${moduleId}/lessons`,
        {
          ...as,
          body: { title, content, estimatedMinutes },
        },
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.lesson;
    };

    interface ModuleOut {
      id: string;
      title: string;
      description: string;
      position: number;
    }
    let intro: ModuleOut;
    let deep: ModuleOut;
    let wrap: ModuleOut;
    const lessonIds: Record<string, string> = {};

    await t.step(
      "modules are created at the end, positions 1, 2, 3",
      async () => {
        intro = await addModule("  Introduction  ", "Where we start");
        deep = await addModule("Deep Dive");
        wrap = await addModule("Wrap Up");
        assert.deepEqual(Object.keys(intro).sort(), [
          "description",
          "id",
          "position",
          "title",
        ]);
        assert.equal(intro.title, "Introduction", "the title is trimmed");
        assert.equal(intro.description, "Where we start");
        assert.deepEqual([intro, deep, wrap].map((m) => m.position), [1, 2, 3]);
        assert.equal(deep.description, "");
        assert.deepEqual((await outline()).map((m) => m.title), [
          "Introduction",
          "Deep Dive",
          "Wrap Up",
        ]);
      },
    );

    await t.step(
      "lessons are appended per module with the full lesson shape",
      async () => {
        const first = await addLesson(
          intro.id,
          "Welcome",
          45,
          "# Hi\n\n**there**",
        );
        assert.deepEqual(Object.keys(first).sort(), [
          "content",
          "contentHtml",
          "estimatedMinutes",
          "id",
          "media",
          "moduleId",
          "position",
          "title",
          "updatedAt",
        ]);
        assert.equal(first.moduleId, intro.id);
        assert.equal(first.content, "# Hi\n\n**there**");
        assert.match(first.contentHtml, /<h1>Hi<\/h1>/);
        assert.match(first.contentHtml, /<strong>there<\/strong>/);
        assert.equal(first.media, null);
        assert.equal(first.position, 1);
        const second = await addLesson(intro.id, "Setup", 45);
        assert.equal(second.position, 2);
        const third = await addLesson(deep.id, "Internals", 120);
        assert.equal(third.position, 1, "positions count within a module");
        const fourth = await addLesson(deep.id, "Tuning", 5);
        assert.equal(fourth.position, 2);
        Object.assign(lessonIds, {
          welcome: first.id,
          setup: second.id,
          internals: third.id,
          tuning: fourth.id,
        });
        const noMinutes = await api(
          ctx,
          "POST",
          `${base}/modules/${wrap.id}/lessons`,
          { ...as, body: { title: "Bare" } },
        );
        assert.equal(noMinutes.status, 201);
        assert.equal(noMinutes.body.lesson.estimatedMinutes, 0);
        assert.equal(noMinutes.body.lesson.content, "");
        lessonIds.bare = noMinutes.body.lesson.id;
      },
    );

    await t.step(
      'the outline sums and formats durations ("1 hour 30 min", "2 hours 5 min", "0 min")',
      async () => {
        const modules = await outline();
        assert.deepEqual(
          modules.map((m) => [m.lessons, m.durationMinutes, m.duration]),
          [
            [2, 90, "1 hour 30 min"],
            [2, 125, "2 hours 5 min"],
            [1, 0, "0 min"],
          ],
        );
        assert.deepEqual(modules[0]!.lessonList.map((l) => l.title), [
          "Welcome",
          "Setup",
        ]);
        assert.equal(modules[0]!.description, "Where we start");
        const detail = await api(ctx, "GET", base);
        assert.equal(detail.body.program.curriculum.length, 3);
        assert.deepEqual(
          detail.body.program.curriculum.map((
            m: { title: string; lessons: number; duration: string },
          ) => [m.title, m.lessons, m.duration]),
          [
            ["Introduction", 2, "1 hour 30 min"],
            ["Deep Dive", 2, "2 hours 5 min"],
            ["Wrap Up", 1, "0 min"],
          ],
          "the program page shows the same outline",
        );
        const edited = await api(
          ctx,
          "PUT",
          `${base}/lessons/${lessonIds.bare}`,
          {
            ...as,
            body: { estimatedMinutes: 60 },
          },
        );
        assert.equal(edited.status, 200);
        assert.equal((await outline())[2]!.duration, "1 hour");
      },
    );

    await t.step("modules and lessons can be edited", async () => {
      const module = await api(ctx, "PUT", `${base}/modules/${wrap.id}`, {
        ...as,
        body: { title: "Summary", description: "Looking back" },
      });
      assert.equal(module.status, 200);
      assert.equal(module.body.module.title, "Summary");
      assert.equal(module.body.module.description, "Looking back");
      assert.equal(module.body.module.position, 3);
      const lesson = await api(
        ctx,
        "PUT",
        `${base}/lessons/${lessonIds.setup}`,
        {
          ...as,
          body: { title: "Installation", content: "Run `deno`" },
        },
      );
      assert.equal(lesson.status, 200);
      assert.equal(lesson.body.lesson.title, "Installation");
      assert.equal(lesson.body.lesson.estimatedMinutes, 45, "untouched");
      assert.match(lesson.body.lesson.contentHtml, /<code>deno<\/code>/);
      const read = await api(
        ctx,
        "GET",
        `${base}/lessons/${lessonIds.setup}`,
        as,
      );
      assert.equal(read.body.lesson.content, "Run `deno`");
      for (
        const body of [
          { title: "" },
          { estimatedMinutes: -5 },
          { estimatedMinutes: 1.5 },
          { colour: "red" },
        ]
      ) {
        const bad = await api(
          ctx,
          "PUT",
          `${base}/lessons/${lessonIds.setup}`,
          {
            ...as,
            body,
          },
        );
        assert.equal(bad.status, 422, JSON.stringify(body));
        assert.equal(bad.body.error.code, "VALIDATION_FAILED");
      }
      const badModule = await api(ctx, "POST", `${base}/modules`, {
        ...as,
        body: { title: "   " },
      });
      assert.equal(badModule.status, 422);
      assert.ok(badModule.body.error.details.fields.title);
    });

    await t.step(
      "reorder moves modules and moves a lesson into another module",
      async () => {
        const res = await api(ctx, "PUT", `${base}/curriculum/order`, {
          ...as,
          body: {
            modules: [
              { id: deep.id, lessonIds: [lessonIds.tuning, lessonIds.welcome] },
              { id: intro.id, lessonIds: [lessonIds.setup] },
              { id: wrap.id, lessonIds: [lessonIds.bare, lessonIds.internals] },
            ],
          },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const got = res.body.curriculum as OutlineModule[];
        assert.deepEqual(
          got,
          await outline(),
          "the response is the new outline",
        );
        assert.deepEqual(
          got.map((m) => [m.id, m.lessonList.map((l) => l.id)]),
          [
            [deep.id, [lessonIds.tuning, lessonIds.welcome]],
            [intro.id, [lessonIds.setup]],
            [wrap.id, [lessonIds.bare, lessonIds.internals]],
          ],
        );
        assert.deepEqual(
          got.map((m) => m.durationMinutes),
          [50, 45, 180],
          "durations follow the lessons",
        );
        const moved = await api(
          ctx,
          "GET",
          `${base}/lessons/${lessonIds.welcome}`,
          as,
        );
        assert.equal(moved.body.lesson.moduleId, deep.id);
        assert.equal(moved.body.lesson.position, 2);
        const rows = await ctx.deps.db.select().from(modules).where(
          eq(modules.programId, program.id),
        );
        const positions = Object.fromEntries(
          rows.map((r) => [r.id, r.position]),
        );
        assert.deepEqual(
          [positions[deep.id], positions[intro.id], positions[wrap.id]],
          [1, 2, 3],
        );
        const appended = await addLesson(deep.id, "Late addition", 1);
        assert.equal(appended.position, 3, "new lessons go after moved ones");
        lessonIds.late = appended.id;
      },
    );

    await t.step(
      "reorder with a missing, duplicated or foreign id is 422 and changes nothing",
      async () => {
        const before = await outline();
        const current = before.map((m) => ({
          id: m.id,
          lessonIds: m.lessonList.map((l) => l.id),
        }));
        const foreignModule = await api(ctx, "POST", `${otherBase}/modules`, {
          ...as,
          body: { title: "Elsewhere" },
        });
        const foreignLesson = await api(
          ctx,
          "POST",
          `${otherBase}/modules/${foreignModule.body.module.id}/lessons`,
          { ...as, body: { title: "Foreign" } },
        );
        const [m1, m2, m3] = current as [
          typeof current[0],
          typeof current[0],
          typeof current[0],
        ];
        const cases: [string, unknown, string][] = [
          ["a missing module", [m1, m2], "modules"],
          ["a duplicated module", [m1, m2, m3, m1], "modules"],
          [
            "a duplicated module replacing another",
            [m1, m2, { ...m1, lessonIds: m3.lessonIds }],
            "modules",
          ],
          [
            "a missing lesson",
            [m1, m2, { ...m3, lessonIds: m3.lessonIds.slice(1) }],
            "lessonIds",
          ],
          [
            "a duplicated lesson",
            [m1, { ...m2, lessonIds: [...m2.lessonIds, m1.lessonIds[0]] }, m3],
            "lessonIds",
          ],
          [
            "a duplicated lesson replacing another",
            [
              m1,
              m2,
              { ...m3, lessonIds: [m3.lessonIds[0], m3.lessonIds[0]] },
            ],
            "lessonIds",
          ],
          [
            "another program's module",
            [m1, m2, { ...m3, id: foreignModule.body.module.id }],
            "modules",
          ],
          [
            "another program's lesson",
            [m1, m2, {
              ...m3,
              lessonIds: [
                ...m3.lessonIds.slice(1),
                foreignLesson.body.lesson.id,
              ],
            }],
            "lessonIds",
          ],
        ];
        for (const [label, modulesSent, field] of cases) {
          const res = await api(ctx, "PUT", `${base}/curriculum/order`, {
            ...as,
            body: { modules: modulesSent },
          });
          assert.equal(
            res.status,
            422,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED", label);
          assert.ok(
            res.body.error.details.fields[field],
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
          assert.deepEqual(await outline(), before, `${label} changed nothing`);
        }
        const malformed = await api(ctx, "PUT", `${base}/curriculum/order`, {
          ...as,
          body: { modules: [{ id: m1.id }] },
        });
        assert.equal(malformed.status, 422);
        assert.deepEqual(await outline(), before);
      },
    );

    await t.step(
      "a lesson or module cannot be reached through another program's id (404)",
      async () => {
        const other = `${otherBase}/lessons/${lessonIds.welcome}`;
        for (
          const [method, body] of [["GET"], ["PUT", { title: "Moved?" }], [
            "DELETE",
          ]] as const
        ) {
          const res = await api(ctx, method, other, { ...as, body });
          assert.equal(res.status, 404, method);
          assert.equal(res.body.error.code, "NOT_FOUND");
        }
        const moduleVia = `${otherBase}/modules/${deep.id}`;
        assert.equal(
          (await api(ctx, "PUT", moduleVia, { ...as, body: { title: "x" } }))
            .status,
          404,
        );
        assert.equal((await api(ctx, "DELETE", moduleVia, as)).status, 404);
        assert.equal(
          (await api(ctx, "POST", `${moduleVia}/lessons`, {
            ...as,
            body: { title: "Sneaky" },
          })).status,
          404,
        );
        const unknown = await api(
          ctx,
          "GET",
          `${base}/lessons/01ARZ3NDEKTSV4RRFFQ69G5FAV`,
          as,
        );
        assert.equal(unknown.status, 404);
        const still = await api(
          ctx,
          "GET",
          `${base}/lessons/${lessonIds.welcome}`,
          as,
        );
        assert.equal(still.status, 200);
        assert.equal(still.body.lesson.title, "Welcome");
        assert.equal((await outline())[0]!.title, "Deep Dive");
      },
    );

    await t.step("deleting a lesson removes it from the outline", async () => {
      const res = await api(
        ctx,
        "DELETE",
        `${base}/lessons/${lessonIds.late}`,
        as,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { success: true, message: "Lesson deleted" });
      assert.equal(
        (await api(ctx, "GET", `${base}/lessons/${lessonIds.late}`, as)).status,
        404,
      );
      assert.deepEqual((await outline())[0]!.lessonList.map((l) => l.id), [
        lessonIds.tuning,
        lessonIds.welcome,
      ]);
    });

    await t.step("deleting a module deletes its lessons", async () => {
      const res = await api(ctx, "DELETE", `${base}/modules/${deep.id}`, as);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { success: true, message: "Module deleted" });
      for (const id of [lessonIds.tuning, lessonIds.welcome]) {
        const lesson = await api(ctx, "GET", `${base}/lessons/${id}`, as);
        assert.equal(lesson.status, 404);
        const rows = await ctx.deps.db.select().from(lessons).where(
          eq(lessons.id, id!),
        );
        assert.equal(rows.length, 0, "the row is gone");
      }
      assert.deepEqual((await outline()).map((m) => m.id), [intro.id, wrap.id]);
      assert.equal(
        (await api(ctx, "DELETE", `${base}/modules/${deep.id}`, as)).status,
        404,
      );
      const after = await addModule("After delete");
      assert.equal(after.position, 4, "positions keep growing after a delete");
      assert.deepEqual((await outline()).at(-1)!.id, after.id);
    });

    await t.step(
      "a lesson can show media uploaded to its program; removing the media detaches it",
      async () => {
        const png = await sharp({
          create: { width: 16, height: 16, channels: 3, background: "#123" },
        }).png().toBuffer();
        const upload = async (path: string) => {
          const form = new FormData();
          form.set("file", new Blob([new Uint8Array(png)]), "diagram.png");
          const res = await ctx.app.request(path, {
            method: "POST",
            body: form,
            headers: { Authorization: `Bearer ${owner.token}` },
          });
          assert.equal(res.status, 201);
          return (await res.json()).media.id as string;
        };
        const ownMedia = await upload(`${base}/media`);
        const foreignMedia = await upload(`${otherBase}/media`);
        const foreign = await api(
          ctx,
          "PUT",
          `${base}/lessons/${lessonIds.setup}`,
          {
            ...as,
            body: { mediaId: foreignMedia },
          },
        );
        assert.equal(foreign.status, 422);
        assert.ok(foreign.body.error.details.fields.mediaId);
        const attached = await api(
          ctx,
          "PUT",
          `${base}/lessons/${lessonIds.setup}`,
          {
            ...as,
            body: { mediaId: ownMedia },
          },
        );
        assert.equal(attached.status, 200);
        assert.equal(attached.body.lesson.media.id, ownMedia);
        assert.match(
          attached.body.lesson.media.url,
          new RegExp(`/media/${ownMedia}$`),
        );
        const withMedia = (await outline()).flatMap((m) => m.lessonList)
          .find((l) => l.id === lessonIds.setup);
        assert.equal(withMedia!.hasMedia, true);
        const removed = await api(
          ctx,
          "DELETE",
          `${base}/media/${ownMedia}`,
          as,
        );
        assert.equal(removed.status, 200);
        const read = await api(
          ctx,
          "GET",
          `${base}/lessons/${lessonIds.setup}`,
          as,
        );
        assert.equal(read.body.lesson.media, null);
      },
    );
  } finally {
    await ctx.close();
  }
});
