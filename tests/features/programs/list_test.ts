import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { type Program, programs } from "../../../db/schema/mod.ts";
import type { CreateProgramInput } from "../../../server/features/programs/schemas.ts";
import { deleteProgram } from "../../../server/features/programs/service.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
} from "../../helpers/context.ts";
import {
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

const SUMMARY_KEYS = [
  "category",
  "createdAt",
  "currency",
  "description",
  "enrolledCount",
  "featured",
  "freeQuestionsCount",
  "id",
  "instructor",
  "level",
  "pricing",
  "rating",
  "slug",
  "status",
  "thumbnail",
  "title",
  "totalReviews",
  "updatedAt",
];
const PAGINATION_KEYS = [
  "currentPage",
  "hasNext",
  "hasPrev",
  "limit",
  "total",
  "totalPages",
  "totalPrograms",
];

const price = (bundle: number, chatbot = 1) => ({
  chatbot,
  documentation: 2,
  examSimulator: 3,
  bundle,
});

Deno.test("listing programs: filters, sorts, visibility and pagination", async (t) => {
  const ctx = await createTestContext();
  try {
    const a = await makeUserAndLogin(ctx, { role: "instructor" });
    const b = await makeUserAndLogin(ctx, { role: "instructor" });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const student = await makeUserAndLogin(ctx, { role: "student" });

    const names = new Map<string, string>();
    const t0 = Date.UTC(2026, 0, 1);
    let order = 0;
    const program = async (
      name: string,
      owner: typeof a,
      fields: Partial<CreateProgramInput>,
      stats: Partial<Program> = {},
    ) => {
      const created = await makeProgram(ctx, owner.user, fields);
      await ctx.deps.db.update(programs).set({
        createdAt: new Date(t0 + ++order * 60_000),
        ...stats,
      }).where(eq(programs.id, created.id));
      names.set(created.id, name);
      return created;
    };

    const rust = await program("rust", a, {
      title: "Rust for Beginners",
      category: "Development",
      level: "Beginner",
      // The chatbot price is above every bundle: filters must use the bundle.
      pricing: price(10, 60),
    }, { ratingSum: 8, reviewCount: 2, featured: true });
    const kube = await program("kube", a, {
      title: "Kubernetes Deep Dive",
      category: "Technology",
      level: "Advanced",
      pricing: price(50),
    }, { ratingSum: 5, reviewCount: 1 });
    const growth = await program("growth", b, {
      title: "Growth Marketing",
      description: "Understand the zeitgeist of funnels",
      category: "Marketing",
      level: "Intermediate",
      pricing: price(30),
    }, { ratingSum: 9, reviewCount: 3 });
    const ts = await program("ts", b, {
      title: "Advanced TypeScript",
      category: "Development",
      level: "Advanced",
      pricing: price(99.99),
    });
    await program("draftA", a, {
      title: "Draft by A",
      status: "draft",
      pricing: price(20),
    });
    await program("draftB", b, {
      title: "Draft by B",
      category: "Technology",
      status: "draft",
    });
    const gone = await program("deletedA", a, { title: "Deleted by A" });
    await deleteProgram(ctx.deps, a.user, gone.id);

    // Popularity comes from real enrollments: rust 5, growth 3, kube 1, ts 0.
    const learners = await Promise.all(
      [0, 1, 2, 3, 4].map(async () =>
        (await makeUserAndLogin(ctx, { role: "student" })).user.id
      ),
    );
    for (const id of learners) await enroll(ctx, id, rust.id, "bundle");
    for (const id of learners.slice(0, 3)) {
      await enroll(ctx, id, growth.id, "chatbot");
    }
    await enroll(ctx, learners[0]!, kube.id, "documentation");

    const lessonModule = await api(
      ctx,
      "POST",
      `/api/programs/${ts.id}/modules`,
      {
        token: b.token,
        body: { title: "Generics" },
      },
    );
    await api(
      ctx,
      "POST",
      `/api/programs/${ts.id}/modules/${lessonModule.body.module.id}/lessons`,
      {
        token: b.token,
        body: { title: "Variance", content: "Monomorphization explained" },
      },
    );

    const list = (query = "", token?: string) =>
      api(ctx, "GET", `/api/programs${query}`, { token });
    const named = (res: ApiResponse) => {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const { currentPage, hasNext, total } = res.body.pagination;
      if (currentPage === 1 && !hasNext) {
        assert.equal(
          total,
          res.body.programs.length,
          "total matches the filter",
        );
      }
      return res.body.programs.map((p: { id: string }) =>
        names.get(p.id) ?? p.id
      );
    };

    await t.step(
      "the response has the 002 summary shape and a pagination block with totalPrograms",
      async () => {
        const res = await list();
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        assert.deepEqual(Object.keys(res.body).sort(), [
          "pagination",
          "programs",
          "success",
        ]);
        for (const p of res.body.programs) {
          assert.deepEqual(Object.keys(p).sort(), SUMMARY_KEYS);
          assert.deepEqual(Object.keys(p.instructor).sort(), [
            "avatar",
            "expertise",
            "id",
            "name",
          ]);
        }
        assert.deepEqual(
          Object.keys(res.body.pagination).sort(),
          PAGINATION_KEYS,
        );
        assert.deepEqual(res.body.pagination, {
          currentPage: 1,
          totalPages: 1,
          total: 4,
          limit: 12,
          hasNext: false,
          hasPrev: false,
          totalPrograms: 4,
        });
        const first = res.body.programs.find((p: { id: string }) =>
          p.id === rust.id
        );
        assert.equal(first.rating, 4);
        assert.equal(first.totalReviews, 2);
        assert.equal(first.enrolledCount, 5);
        assert.equal(first.category, "Development");
        assert.deepEqual(first.pricing, price(10, 60));
      },
    );

    await t.step(
      "the public and students see only published, undeleted programs",
      async () => {
        for (const token of [undefined, student.token]) {
          assert.deepEqual(named(await list("", token)), [
            "rust",
            "growth",
            "kube",
            "ts",
          ]);
          assert.deepEqual(named(await list("?status=draft", token)), []);
          assert.deepEqual(named(await list("?status=deleted", token)), []);
        }
      },
    );

    await t.step(
      "an instructor also sees their own drafts, not another instructor's",
      async () => {
        assert.deepEqual(named(await list("", a.token)).sort(), [
          "draftA",
          "growth",
          "kube",
          "rust",
          "ts",
        ]);
        assert.deepEqual(named(await list("?status=draft", a.token)), [
          "draftA",
        ]);
        assert.deepEqual(named(await list("?status=draft", b.token)), [
          "draftB",
        ]);
        assert.deepEqual(named(await list("?status=deleted", a.token)), []);
        const total = (await list("", b.token)).body.pagination.total;
        assert.equal(total, 5);
      },
    );

    await t.step(
      "an admin sees every undeleted program, and deleted ones with status=deleted",
      async () => {
        assert.deepEqual(named(await list("", admin.token)).sort(), [
          "draftA",
          "draftB",
          "growth",
          "kube",
          "rust",
          "ts",
        ]);
        assert.deepEqual(named(await list("?status=deleted", admin.token)), [
          "deletedA",
        ]);
        assert.deepEqual(
          named(await list("?status=draft", admin.token)).sort(),
          ["draftA", "draftB"],
        );
        assert.equal(
          (await list("?status=published", admin.token)).body.pagination.total,
          4,
        );
      },
    );

    await t.step("filters by category name, slug or id", async () => {
      assert.deepEqual(named(await list("?category=Development")), [
        "rust",
        "ts",
      ]);
      assert.deepEqual(named(await list("?category=development")), [
        "rust",
        "ts",
      ]);
      assert.deepEqual(named(await list("?category=Marketing")), ["growth"]);
      const categories = await api(ctx, "GET", "/api/categories");
      const development = categories.body.items.find((c: { name: string }) =>
        c.name === "Development"
      );
      assert.deepEqual(named(await list(`?category=${development.id}`)), [
        "rust",
        "ts",
      ]);
      assert.deepEqual(named(await list("?category=Art%20%26%20Design")), []);
      const unknown = await list("?category=Underwater%20Basketry");
      assert.deepEqual(named(unknown), []);
      assert.equal(unknown.body.pagination.total, 0);
    });

    await t.step("filters by level, case-insensitively", async () => {
      assert.deepEqual(named(await list("?level=Advanced")), ["kube", "ts"]);
      assert.deepEqual(named(await list("?level=advanced")), ["kube", "ts"]);
      assert.deepEqual(named(await list("?level=Beginner")), ["rust"]);
      assert.deepEqual(
        named(await list("?category=Development&level=Advanced")),
        ["ts"],
      );
    });

    await t.step("filters by instructorId", async () => {
      assert.deepEqual(named(await list(`?instructorId=${a.user.id}`)), [
        "rust",
        "kube",
      ]);
      assert.deepEqual(named(await list(`?instructorId=${b.user.id}`)), [
        "growth",
        "ts",
      ]);
      assert.deepEqual(
        named(await list(`?instructorId=${a.user.id}`, a.token)).sort(),
        ["draftA", "kube", "rust"],
      );
      assert.deepEqual(
        named(await list(`?instructorId=${b.user.id}`, a.token)),
        ["growth", "ts"],
        "another instructor's drafts stay hidden",
      );
    });

    await t.step("filters by featured", async () => {
      assert.deepEqual(named(await list("?featured=true")), ["rust"]);
      assert.deepEqual(named(await list("?featured=false")), [
        "growth",
        "kube",
        "ts",
      ]);
      const bad = await list("?featured=yes");
      assert.equal(bad.status, 422);
      assert.ok(bad.body.error.details.fields.featured);
    });

    await t.step(
      "priceMin and priceMax bound the bundle price, inclusive",
      async () => {
        assert.deepEqual(named(await list("?priceMin=30&priceMax=50")), [
          "growth",
          "kube",
        ]);
        assert.deepEqual(named(await list("?priceMin=50")), ["kube", "ts"]);
        assert.deepEqual(
          named(await list("?priceMax=10")),
          ["rust"],
          "rust's 60.00 chatbot price does not count",
        );
        assert.deepEqual(named(await list("?priceMin=55")), ["ts"]);
        assert.deepEqual(named(await list("?priceMin=99.99")), ["ts"]);
        assert.deepEqual(named(await list("?priceMin=100")), []);
        assert.deepEqual(named(await list("?priceMin=60&priceMax=40")), []);
        for (const bad of ["abc", "-1", "1.005"]) {
          const res = await list(`?priceMin=${bad}`);
          assert.equal(res.status, 422, bad);
          assert.ok(res.body.error.details.fields.priceMin, bad);
        }
      },
    );

    await t.step(
      "search matches titles, descriptions and lesson text, by prefix",
      async () => {
        assert.deepEqual(named(await list("?search=kubernetes")), ["kube"]);
        assert.deepEqual(named(await list("?search=kube")), ["kube"]);
        assert.deepEqual(named(await list("?search=ZEITGEIST")), ["growth"]);
        assert.deepEqual(named(await list("?search=monomorphization")), [
          "ts",
        ]);
        assert.deepEqual(named(await list("?search=draft")), [], "no drafts");
        assert.deepEqual(
          named(await list("?search=draft", a.token)),
          ["draftA"],
          "own drafts are searchable by their owner",
        );
        assert.deepEqual(
          named(await list("?search=advanced&category=Development")),
          ["ts"],
        );
        for (const hostile of ['"()*', "OR", "-", "a\"b'c", "NEAR(x y)"]) {
          const res = await list(`?search=${encodeURIComponent(hostile)}`);
          assert.equal(res.status, 200, hostile);
        }
      },
    );

    await t.step("every sort orders as named", async () => {
      const sorts: Record<string, string[]> = {
        popular: ["rust", "growth", "kube", "ts"],
        newest: ["ts", "growth", "kube", "rust"],
        "price-low": ["rust", "growth", "kube", "ts"],
        "price-high": ["ts", "kube", "growth", "rust"],
        rating: ["kube", "rust", "growth", "ts"],
      };
      for (const [sort, expected] of Object.entries(sorts)) {
        assert.deepEqual(named(await list(`?sort=${sort}`)), expected, sort);
      }
      assert.deepEqual(
        named(await list()),
        sorts.popular,
        "popular is the default",
      );
      assert.deepEqual(named(await list("?sort=price-low&level=Advanced")), [
        "kube",
        "ts",
      ]);
      const bad = await list("?sort=cheapest");
      assert.equal(bad.status, 422);
      assert.ok(bad.body.error.details.fields.sort);
    });

    await t.step(
      "limit=1 pages through everything once, with a Link header to first, next and last",
      async () => {
        const first = await list("?limit=1");
        assert.deepEqual(first.body.pagination, {
          currentPage: 1,
          totalPages: 4,
          total: 4,
          limit: 1,
          hasNext: true,
          hasPrev: false,
          totalPrograms: 4,
        });
        const link = first.headers.get("link") ?? "";
        assert.match(link, /<[^>]*[?&]page=2[^>]*>; rel="next"/);
        assert.match(link, /<[^>]*[?&]page=4[^>]*>; rel="last"/);
        assert.match(link, /<[^>]*[?&]page=1[^>]*>; rel="first"/);
        assert.match(link, /limit=1/);
        assert.doesNotMatch(link, /rel="prev"/);
        const seen: string[] = [];
        for (let page = 1; page <= 4; page++) {
          const res = await list(`?limit=1&page=${page}`);
          seen.push(...named(res));
          assert.equal(res.body.pagination.hasPrev, page > 1);
          assert.equal(res.body.pagination.hasNext, page < 4);
          const pageLink = res.headers.get("link") ?? "";
          assert.equal(/rel="prev"/.test(pageLink), page > 1, pageLink);
          assert.equal(/rel="next"/.test(pageLink), page < 4, pageLink);
        }
        assert.deepEqual(seen, ["rust", "growth", "kube", "ts"]);
        const filtered = await list(
          "?limit=1&category=Development&sort=newest",
        );
        const next = (filtered.headers.get("link") ?? "").match(
          /<([^>]*)>; rel="next"/,
        )?.[1];
        assert.ok(next, "a next link");
        const url = new URL(next, "http://lectern.test");
        assert.equal(url.pathname, "/api/programs");
        assert.equal(url.searchParams.get("category"), "Development");
        assert.equal(url.searchParams.get("sort"), "newest");
        assert.equal(url.searchParams.get("page"), "2");
        assert.deepEqual(named(await list(url.search)), ["rust"]);
      },
    );

    await t.step(
      "a page past the end is 200 with an empty list and the true totals",
      async () => {
        const res = await list("?page=10&limit=2");
        assert.equal(res.status, 200);
        assert.deepEqual(res.body.programs, []);
        assert.deepEqual(res.body.pagination, {
          currentPage: 10,
          totalPages: 2,
          total: 4,
          limit: 2,
          hasNext: false,
          hasPrev: true,
          totalPrograms: 4,
        });
        const link = res.headers.get("link") ?? "";
        assert.match(link, /<[^>]*[?&]page=2[^>]*>; rel="last"/);
        assert.doesNotMatch(link, /rel="next"/);
        const empty = await list("?category=Marketing&level=Beginner&page=3");
        assert.equal(empty.status, 200);
        assert.deepEqual(empty.body.pagination, {
          currentPage: 3,
          totalPages: 0,
          total: 0,
          limit: 12,
          hasNext: false,
          hasPrev: true,
          totalPrograms: 0,
        });
      },
    );

    await t.step(
      "limit=0, limit=1000, page=abc and other malformed pages are 422",
      async () => {
        const cases: [string, string][] = [
          ["?limit=0", "limit"],
          ["?limit=1000", "limit"],
          ["?limit=101", "limit"],
          ["?limit=-1", "limit"],
          ["?limit=ten", "limit"],
          ["?page=abc", "page"],
          ["?page=0", "page"],
          ["?page=1.5", "page"],
          ["?page=", "page"],
        ];
        for (const [query, field] of cases) {
          for (const token of [undefined, admin.token]) {
            const res = await list(query, token);
            assert.equal(res.status, 422, query);
            assert.equal(res.body.error.code, "VALIDATION_FAILED");
            assert.equal(
              typeof res.body.error.details.fields[field],
              "string",
              `${query}: ${JSON.stringify(res.body.error.details)}`,
            );
          }
        }
        assert.equal((await list("?limit=100")).status, 200);
      },
    );

    await t.step(
      "a repeated anonymous list is answered the same, Link header included",
      async () => {
        const first = await list("?limit=2&sort=newest");
        const second = await list("?limit=2&sort=newest");
        assert.deepEqual(second.body, first.body);
        assert.ok(first.headers.get("link"));
        assert.equal(second.headers.get("link"), first.headers.get("link"));
      },
    );

    await t.step(
      "the cached anonymous list reflects creates, publishes, edits and deletes at once",
      async () => {
        const ids = async (token?: string) =>
          (await list("?limit=100&sort=newest", token)).body.programs.map((
            p: { id: string },
          ) => p.id);
        const before = await ids();
        assert.equal(before.length, 4);
        await ids(); // now cached

        const created = await api(ctx, "POST", "/api/programs", {
          token: a.token,
          body: {
            title: "Fresh Off The Press",
            category: "Technology",
            status: "published",
          },
        });
        assert.equal(created.status, 201);
        const fresh = created.body.program.id;
        assert.deepEqual(await ids(), [fresh, ...before]);
        assert.deepEqual(await ids(student.token), [fresh, ...before]);

        const draft = await api(ctx, "POST", "/api/programs", {
          token: a.token,
          body: { title: "Quiet Draft", category: "Technology" },
        });
        const draftId = draft.body.program.id;
        assert.ok(!(await ids()).includes(draftId));
        assert.ok((await ids(a.token)).includes(draftId));
        assert.ok(
          !(await ids()).includes(draftId),
          "the instructor's view is not cached for the public",
        );
        const published = await api(ctx, "PUT", `/api/programs/${draftId}`, {
          token: a.token,
          body: { status: "published" },
        });
        assert.equal(published.status, 200);
        assert.ok((await ids()).includes(draftId));

        await api(ctx, "PUT", `/api/programs/${fresh}`, {
          token: a.token,
          body: { title: "Renamed Fresh Program" },
        });
        const titles = (await list("?limit=100")).body.programs.map((
          p: { title: string },
        ) => p.title);
        assert.ok(titles.includes("Renamed Fresh Program"));

        await api(ctx, "DELETE", `/api/programs/${fresh}`, { token: a.token });
        assert.ok(!(await ids()).includes(fresh));
        assert.equal(
          (await list("?limit=100")).body.pagination.total,
          5,
          "four originals and the published draft",
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
