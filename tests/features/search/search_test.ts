import assert from "node:assert/strict";
import {
  banUser,
  setRole,
  unbanUser,
} from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

interface ProgramHit {
  id: string;
  title: string;
  snippet: string;
  category: string;
}
interface InstructorHit {
  id: string;
  name: string;
  avatar: string | null;
  headline: string;
  expertise: string[];
}

async function search(ctx: TestContext, q: string, extra = "") {
  const res = await api(
    ctx,
    "GET",
    `/api/search?q=${encodeURIComponent(q)}${extra}`,
  );
  assert.equal(res.status, 200, `q=${q}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.success, true);
  return res.body as {
    results: { programs: ProgramHit[]; instructors: InstructorHit[] };
    totals: { programs: number; instructors: number };
    pagination: { total: number };
  };
}

const programIds = async (ctx: TestContext, q: string) =>
  (await search(ctx, q, "&type=programs")).results.programs.map((p) => p.id);
const instructorIds = async (ctx: TestContext, q: string) =>
  (await search(ctx, q, "&type=instructors")).results.instructors.map((i) =>
    i.id
  );

/** The catalog's own search (`GET /api/programs?search=`), anonymous. */
async function catalogIds(ctx: TestContext, query: string, token?: string) {
  const res = await api(ctx, "GET", `/api/programs?${query}`, {
    ...(token ? { token } : {}),
  });
  assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
  return (res.body.programs as { id: string }[]).map((p) => p.id);
}

/** A new module holding one lesson, through the API. */
async function addLesson(
  ctx: TestContext,
  token: string,
  programId: string,
  title: string,
  content: string,
) {
  const module = await api(ctx, "POST", `/api/programs/${programId}/modules`, {
    token,
    body: { title: "Module" },
  });
  assert.equal(module.status, 201);
  const lesson = await api(
    ctx,
    "POST",
    `/api/programs/${programId}/modules/${module.body.module.id}/lessons`,
    { token, body: { title, content } },
  );
  assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
  return {
    moduleId: module.body.module.id as string,
    lessonId: lesson.body.lesson.id as string,
  };
}

Deno.test("full-text search over programs and instructors", async (t) => {
  const ctx = await createTestContext();
  try {
    const teacher = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Search Teacher",
    });
    const owner = teacher.user;
    const token = teacher.token;

    const react = await makeProgram(ctx, owner, {
      title: "React Fundamentals",
      description: "Components and hooks for web interfaces",
    });
    const described = await makeProgram(ctx, owner, {
      title: "Container Orchestration",
      description: "Deploy services on kubernetes clusters",
    });
    const overviewed = await makeProgram(ctx, owner, {
      title: "Plant Biology",
      overview: "<p>Learn how <strong>photosynthesis</strong> feeds a leaf</p>",
    });
    const lessoned = await makeProgram(ctx, owner, { title: "Cell Studies" });
    await addLesson(
      ctx,
      token,
      lessoned.id,
      "Energy",
      "The **mitochondria** is the powerhouse of the cell",
    );

    await t.step(
      "finds programs by title, description, overview text and lesson text",
      async () => {
        assert.deepEqual(await programIds(ctx, "fundamentals"), [react.id]);
        assert.deepEqual(await programIds(ctx, "kubernetes"), [described.id]);
        assert.deepEqual(await programIds(ctx, "photosynthesis"), [
          overviewed.id,
        ]);
        assert.deepEqual(await programIds(ctx, "mitochondria"), [lessoned.id]);
        assert.deepEqual(
          await programIds(ctx, "strong"),
          [],
          "markup is not text",
        );
        const body = await search(ctx, "kubernetes clusters");
        assert.equal(body.totals.programs, 1);
        const hit = body.results.programs[0]!;
        assert.equal(hit.title, "Container Orchestration");
        assert.equal(hit.category, "Development");
        assert.equal(typeof hit.snippet, "string");
        assert.deepEqual(
          await programIds(ctx, "kubernetes nonexistentword"),
          [],
          "all words are required",
        );
      },
    );

    await t.step("matches word prefixes, case and accents aside", async () => {
      assert.deepEqual(await programIds(ctx, "reac"), [react.id]);
      assert.deepEqual(await programIds(ctx, "REACT"), [react.id]);
      assert.deepEqual(await programIds(ctx, "mitochon"), [lessoned.id]);
      assert.deepEqual(await programIds(ctx, "phötosynth"), [overviewed.id]);
      assert.deepEqual(await programIds(ctx, "eact"), [], "prefixes only");
    });

    await t.step(
      "ranks a title match above a description match above a lesson-only match",
      async () => {
        const inLesson = await makeProgram(ctx, owner, {
          title: "Misc Topics A",
        });
        await addLesson(
          ctx,
          token,
          inLesson.id,
          "Aside",
          "Somewhere in here we mention zyxquark once among many other words",
        );
        const inTitle = await makeProgram(ctx, owner, {
          title: "Zyxquark Essentials",
        });
        const inDescription = await makeProgram(ctx, owner, {
          title: "Misc Topics B",
          description: "A short note on zyxquark",
        });
        assert.deepEqual(await programIds(ctx, "zyxquark"), [
          inTitle.id,
          inDescription.id,
          inLesson.id,
        ]);
        assert.deepEqual(
          await catalogIds(ctx, "search=zyxquark"),
          [inTitle.id, inDescription.id, inLesson.id],
          "the catalog's search is ranked by relevance too",
        );
      },
    );

    await t.step(
      "snippets mark the hit and escape < and > from the indexed text",
      async () => {
        const tricky = await makeProgram(ctx, owner, {
          title: "<script>alert(1)</script> Snarkwidget",
          description: 'Compare a<b and c>d with "quuxlayout" & friends',
        });
        const byDescription =
          (await search(ctx, "quuxlayout")).results.programs;
        assert.equal(byDescription.length, 1);
        assert.equal(byDescription[0]!.id, tricky.id);
        const snippet = byDescription[0]!.snippet;
        assert.match(snippet, /<mark>quuxlayout<\/mark>/);
        assert.match(snippet, /a&lt;b and c&gt;d/);
        assert.match(snippet, /&amp; friends/);
        assert.doesNotMatch(snippet, /<(?!\/?mark>)/, "no other tag survives");

        const byTitle = (await search(ctx, "snarkwid")).results.programs;
        assert.equal(byTitle[0]!.id, tricky.id);
        assert.match(byTitle[0]!.snippet, /<mark>Snarkwidget<\/mark>/);
        assert.match(byTitle[0]!.snippet, /&lt;script&gt;/);
        assert.doesNotMatch(byTitle[0]!.snippet, /<script/i);
        assert.equal(
          byTitle[0]!.title,
          "<script>alert(1)</script> Snarkwidget",
          "the title itself is data, escaped by the client",
        );

        const lesson = (await search(ctx, "powerhouse")).results.programs;
        assert.match(lesson[0]!.snippet, /<mark>powerhouse<\/mark>/);
        const prefix = (await search(ctx, "reac")).results.programs;
        assert.match(prefix[0]!.snippet, /<mark>React<\/mark>/);
      },
    );

    await t.step(
      "the only markup in a snippet is the <mark> around real hits, whatever characters the text holds",
      async () => {
        const odd = await makeProgram(ctx, owner, {
          title: "Oddchars \u0001Trap\u0002 \u0002Course",
        });
        const hits = (await search(ctx, "oddchars")).results.programs;
        assert.equal(hits[0]!.id, odd.id);
        const marks = hits[0]!.snippet.match(/<\/?mark>/g) ?? [];
        assert.deepEqual(
          marks,
          ["<mark>", "</mark>"],
          `only the hit is marked: ${JSON.stringify(hits[0]!.snippet)}`,
        );
      },
    );

    await t.step(
      "hostile queries never fail: 200 with well-formed results",
      async () => {
        const hostile = [
          '"',
          '""',
          "(",
          ")",
          "()",
          "OR",
          "AND",
          "NOT x",
          "NOT",
          "*",
          "react*",
          "-foo",
          "a:b",
          "title:react",
          "NEAR(a b)",
          "NEAR(react fundamentals, 2)",
          "^",
          "^react",
          "'",
          "\\",
          "react OR 1=1 --",
          "'; DROP TABLE programs; --",
          "{title lessons}: react",
          "react AND OR NOT",
          "\u0000",
          "日本語のコース",
          "café crème",
          "Ünïcödé",
          "😀🎓",
          "react 🎓",
          "%",
          "_",
          "a".repeat(200),
          "word ".repeat(40).trim(),
        ];
        for (const q of hostile) {
          const body = await search(ctx, q);
          assert.ok(Array.isArray(body.results.programs), q);
          assert.ok(Array.isArray(body.results.instructors), q);
          const catalog = await api(
            ctx,
            "GET",
            `/api/programs?search=${encodeURIComponent(q)}`,
          );
          assert.equal(catalog.status, 200, `catalog search=${q}`);
        }
        // Raw query strings a browser would never build: bad percent-escapes, invalid UTF-8,
        // a lone surrogate, repeated parameters.
        for (
          const raw of [
            "q=%",
            "q=%E0%A4%A",
            "q=%FF%FE",
            "q=%ED%A0%BD",
            "q=react%00",
            "q=react&q=hooks",
            "q[]=react",
          ]
        ) {
          const res = await api(ctx, "GET", `/api/search?${raw}`);
          assert.ok(
            res.status === 200 || res.status === 422,
            `${raw}: ${res.status} ${JSON.stringify(res.body)}`,
          );
          const catalog = await api(
            ctx,
            "GET",
            `/api/programs?search${raw.slice(1)}`,
          );
          assert.ok(
            catalog.status === 200 || catalog.status === 422,
            `catalog ${raw}: ${catalog.status}`,
          );
        }
        assert.deepEqual(
          await programIds(ctx, "react*"),
          [react.id],
          "operators are just text around the words",
        );
        assert.deepEqual(await programIds(ctx, "-react"), [react.id]);
        assert.deepEqual(await programIds(ctx, '"react'), [react.id]);
        assert.ok(
          ctx.logger.lines.every((line) => line.level !== "error"),
          "nothing went wrong on the server",
        );
      },
    );

    await t.step("an empty, blank, missing or over-long q is 422", async () => {
      for (
        const query of [
          "q=",
          "q=%20%20",
          "",
          `q=${"a".repeat(201)}`,
          "q=react&type=courses",
        ]
      ) {
        const res = await api(ctx, "GET", `/api/search?${query}`);
        assert.equal(res.status, 422, query);
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
      }
    });

    await t.step(
      "an empty or blank ?search= on the catalog is no filter (or a 422), never an empty catalog",
      async () => {
        const unfiltered = await catalogIds(ctx, "limit=100");
        assert.ok(unfiltered.length > 0);
        for (const query of ["search=", "search=%20%20"]) {
          const res = await api(ctx, "GET", `/api/programs?limit=100&${query}`);
          if (res.status === 422) continue;
          assert.equal(res.status, 200, query);
          assert.deepEqual(
            res.body.programs.map((p: { id: string }) => p.id).sort(),
            [...unfiltered].sort(),
            `${query} lists what no search lists`,
          );
        }
      },
    );

    await t.step(
      "the index follows program edits: rename, description and overview",
      async () => {
        const p = await makeProgram(ctx, owner, {
          title: "Wombatology Basics",
          description: "About burrows",
          overview: "<p>Marsupial facts</p>",
        });
        assert.deepEqual(await programIds(ctx, "wombatology"), [p.id]);
        const renamed = await api(ctx, "PUT", `/api/programs/${p.id}`, {
          token,
          body: {
            title: "Quokkanomics Basics",
            description: "About islands",
            overview: "<p>Rottnest facts</p>",
          },
        });
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        for (const gone of ["wombatology", "burrows", "marsupial"]) {
          assert.deepEqual(await programIds(ctx, gone), [], gone);
          assert.deepEqual(await catalogIds(ctx, `search=${gone}`), [], gone);
        }
        for (const found of ["quokkanomics", "islands", "rottnest"]) {
          assert.deepEqual(await programIds(ctx, found), [p.id], found);
          assert.deepEqual(await catalogIds(ctx, `search=${found}`), [p.id]);
        }
      },
    );

    await t.step(
      "the index follows lessons: add, edit, delete, and deleting their module",
      async () => {
        const p = await makeProgram(ctx, owner, { title: "Lesson Index" });
        const first = await addLesson(
          ctx,
          token,
          p.id,
          "Narwhalish intro",
          "Tusks and ice",
        );
        assert.deepEqual(await programIds(ctx, "narwhalish"), [p.id]);
        assert.deepEqual(await programIds(ctx, "tusks"), [p.id]);

        const edited = await api(
          ctx,
          "PUT",
          `/api/programs/${p.id}/lessons/${first.lessonId}`,
          {
            token,
            body: { title: "Axolotlish intro", content: "Gills and ponds" },
          },
        );
        assert.equal(edited.status, 200);
        assert.deepEqual(await programIds(ctx, "narwhalish"), []);
        assert.deepEqual(await programIds(ctx, "tusks"), []);
        assert.deepEqual(await programIds(ctx, "axolotlish"), [p.id]);
        assert.deepEqual(await programIds(ctx, "gills"), [p.id]);

        const second = await addLesson(
          ctx,
          token,
          p.id,
          "Pangolinish",
          "Scales",
        );
        assert.deepEqual(await programIds(ctx, "pangolinish"), [p.id]);
        assert.deepEqual(
          await programIds(ctx, "axolotlish"),
          [p.id],
          "other lessons stay",
        );

        const removed = await api(
          ctx,
          "DELETE",
          `/api/programs/${p.id}/lessons/${first.lessonId}`,
          { token },
        );
        assert.equal(removed.status, 200);
        assert.deepEqual(await programIds(ctx, "axolotlish"), []);
        assert.deepEqual(await programIds(ctx, "pangolinish"), [p.id]);

        const moduleGone = await api(
          ctx,
          "DELETE",
          `/api/programs/${p.id}/modules/${second.moduleId}`,
          { token },
        );
        assert.equal(moduleGone.status, 200);
        assert.deepEqual(await programIds(ctx, "pangolinish"), []);
        assert.deepEqual(await programIds(ctx, "lesson index"), [p.id]);
      },
    );

    await t.step(
      "drafts and soft-deleted programs never appear; publishing and unpublishing follow",
      async () => {
        const draft = await makeProgram(ctx, owner, {
          title: "Hiddenword Draft",
          status: "draft",
        });
        assert.deepEqual(await programIds(ctx, "hiddenword"), []);
        assert.deepEqual(await catalogIds(ctx, "search=hiddenword"), []);
        const student = await makeUserAndLogin(ctx);
        assert.deepEqual(
          await catalogIds(ctx, "search=hiddenword", student.token),
          [],
        );
        assert.equal((await search(ctx, "hiddenword")).totals.programs, 0);

        const published = await api(ctx, "PUT", `/api/programs/${draft.id}`, {
          token,
          body: { status: "published" },
        });
        assert.equal(published.status, 200);
        assert.deepEqual(await programIds(ctx, "hiddenword"), [draft.id]);
        assert.deepEqual(await catalogIds(ctx, "search=hiddenword"), [
          draft.id,
        ]);

        await api(ctx, "PUT", `/api/programs/${draft.id}`, {
          token,
          body: { status: "draft" },
        });
        assert.deepEqual(await programIds(ctx, "hiddenword"), []);
        assert.deepEqual(await catalogIds(ctx, "search=hiddenword"), []);

        const doomed = await makeProgram(ctx, owner, { title: "Doomedword" });
        assert.deepEqual(await programIds(ctx, "doomedword"), [doomed.id]);
        const deleted = await api(ctx, "DELETE", `/api/programs/${doomed.id}`, {
          token,
        });
        assert.equal(deleted.status, 200);
        assert.deepEqual(await programIds(ctx, "doomedword"), []);
        assert.equal((await search(ctx, "doomedword")).totals.programs, 0);
        assert.deepEqual(await catalogIds(ctx, "search=doomedword"), []);
        assert.deepEqual(
          await catalogIds(ctx, "search=doomedword", token),
          [],
          "not even for its instructor",
        );
      },
    );

    await t.step(
      "GET /api/programs?search= combines with the category filter",
      async () => {
        const marketing = await makeProgram(ctx, owner, {
          title: "Gizmotronic Campaigns",
          category: "Marketing",
        });
        const development = await makeProgram(ctx, owner, {
          title: "Gizmotronic Compilers",
          category: "Development",
        });
        assert.deepEqual(
          (await catalogIds(ctx, "search=gizmotronic")).sort(),
          [marketing.id, development.id].sort(),
        );
        assert.deepEqual(
          await catalogIds(ctx, "search=gizmotronic&category=marketing"),
          [marketing.id],
        );
        assert.deepEqual(
          await catalogIds(ctx, "search=gizmotronic&category=Development"),
          [development.id],
        );
        assert.deepEqual(
          await catalogIds(ctx, "search=gizmotronic&category=financial"),
          [],
        );
        const res = await api(ctx, "GET", "/api/programs?search=gizmo&limit=1");
        assert.equal(res.body.pagination.totalPrograms, 2);
        assert.equal(res.body.programs.length, 1);
      },
    );

    await t.step(
      "instructors are found by name and by expertise set through PUT /api/instructors/profile",
      async () => {
        const ada = await makeUserAndLogin(ctx, {
          role: "instructor",
          name: "Ada Lovelace",
        });
        await makeUserAndLogin(ctx, { name: "Lovelace Student" });
        const byName = (await search(ctx, "lovelace", "&type=instructors"))
          .results.instructors;
        assert.deepEqual(
          byName.map((i) => i.id),
          [ada.user.id],
          "students are not instructors",
        );
        assert.equal(byName[0]!.name, "Ada Lovelace");
        assert.deepEqual(await instructorIds(ctx, "lovel"), [ada.user.id]);

        const profile = await api(ctx, "PUT", "/api/instructors/profile", {
          token: ada.token,
          body: {
            headline: "Analytical engines",
            expertise: ["Quantum Chromodynamics", "Poetical Science"],
          },
        });
        assert.equal(profile.status, 200, JSON.stringify(profile.body));
        const byExpertise =
          (await search(ctx, "chromodyn", "&type=instructors"))
            .results.instructors;
        assert.deepEqual(byExpertise, [{
          id: ada.user.id,
          name: "Ada Lovelace",
          avatar: null,
          headline: "Analytical engines",
          expertise: ["Quantum Chromodynamics", "Poetical Science"],
        }]);

        await api(ctx, "PUT", "/api/instructors/profile", {
          token: ada.token,
          body: { expertise: ["Difference Engines"] },
        });
        assert.deepEqual(await instructorIds(ctx, "chromodynamics"), []);
        assert.deepEqual(await instructorIds(ctx, "difference engines"), [
          ada.user.id,
        ]);

        const renamed = await api(ctx, "PUT", "/api/users/profile", {
          token: ada.token,
          body: { name: "Ada Byron" },
        });
        assert.equal(renamed.status, 200);
        assert.deepEqual(await instructorIds(ctx, "lovelace"), []);
        assert.deepEqual(await instructorIds(ctx, "byron"), [ada.user.id]);
        assert.deepEqual(
          await instructorIds(ctx, "engines"),
          [ada.user.id],
          "a rename keeps the expertise indexed",
        );
      },
    );

    await t.step(
      "a banned instructor and one demoted to student disappear from instructor search",
      async () => {
        const banned = await makeUserAndLogin(ctx, {
          role: "instructor",
          name: "Grace Bannable",
        });
        const demoted = await makeUserAndLogin(ctx, {
          role: "instructor",
          name: "Grace Demotable",
        });
        await api(ctx, "PUT", "/api/instructors/profile", {
          token: demoted.token,
          body: { expertise: ["Compilerology"] },
        });
        assert.deepEqual(
          (await instructorIds(ctx, "grace")).sort(),
          [banned.user.id, demoted.user.id].sort(),
        );

        await banUser(ctx.deps, ADMIN_ACTOR, banned.user.id, "spam");
        await setRole(ctx.deps, ADMIN_ACTOR, demoted.user.id, "student");
        const after = await search(ctx, "grace", "&type=instructors");
        assert.deepEqual(after.results.instructors, []);
        assert.equal(after.totals.instructors, 0);
        assert.deepEqual(await instructorIds(ctx, "compilerology"), []);

        await unbanUser(ctx.deps, ADMIN_ACTOR, banned.user.id);
        await setRole(ctx.deps, ADMIN_ACTOR, demoted.user.id, "instructor");
        assert.deepEqual(
          (await instructorIds(ctx, "grace")).sort(),
          [banned.user.id, demoted.user.id].sort(),
          "reinstated instructors come back",
        );
        assert.deepEqual(
          await instructorIds(ctx, "compilerology"),
          [demoted.user.id],
          "with their expertise",
        );
      },
    );

    await t.step(
      "type=programs returns only programs and type=instructors only instructors",
      async () => {
        const both = await makeUserAndLogin(ctx, {
          role: "instructor",
          name: "Ferdinand Overlapword",
        });
        const p = await makeProgram(ctx, both.user, {
          title: "Overlapword Masterclass",
        });
        const all = await search(ctx, "overlapword");
        assert.deepEqual(all.results.programs.map((h) => h.id), [p.id]);
        assert.deepEqual(all.results.instructors.map((h) => h.id), [
          both.user.id,
        ]);
        const programsOnly = await search(ctx, "overlapword", "&type=programs");
        assert.deepEqual(programsOnly.results.programs.map((h) => h.id), [
          p.id,
        ]);
        assert.deepEqual(programsOnly.results.instructors, []);
        const instructorsOnly = await search(
          ctx,
          "overlapword",
          "&type=instructors",
        );
        assert.deepEqual(instructorsOnly.results.programs, []);
        assert.deepEqual(
          instructorsOnly.results.instructors.map((h) => h.id),
          [both.user.id],
        );
        assert.equal(
          (all.results.programs[0] as unknown as { instructor: { id: string } })
            .instructor.id,
          both.user.id,
          "a program hit carries the catalog card's instructor",
        );
      },
    );

    await t.step("search results paginate", async () => {
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        made.push(
          (await makeProgram(ctx, owner, { title: `Paginaword ${i}` })).id,
        );
      }
      const page1 = await search(ctx, "paginaword", "&type=programs&limit=2");
      const page2 = await search(
        ctx,
        "paginaword",
        "&type=programs&limit=2&page=2",
      );
      assert.equal(page1.results.programs.length, 2);
      assert.equal(page2.results.programs.length, 1);
      assert.equal(page1.pagination.total, 3);
      assert.deepEqual(
        [...page1.results.programs, ...page2.results.programs].map((p) => p.id)
          .sort(),
        made.sort(),
      );
    });
  } finally {
    await ctx.close();
  }
});
