import assert from "node:assert/strict";
import { count, eq } from "drizzle-orm";
import sharp from "sharp";
import { enrollments, media, programs } from "../../../db/schema/mod.ts";
import {
  api,
  type ApiResponse,
  APP_URL,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  enroll,
  makeProgram,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

const DETAIL_KEYS = [
  "category",
  "certificate",
  "createdAt",
  "currency",
  "curriculum",
  "deletedAt",
  "description",
  "duration",
  "enrolledCount",
  "featured",
  "features",
  "freeQuestionsCount",
  "id",
  "instructor",
  "language",
  "lastUpdated",
  "level",
  "overview",
  "prerequisites",
  "pricing",
  "rating",
  "slug",
  "status",
  "thumbnail",
  "title",
  "totalQuestions",
  "totalReviews",
  "updatedAt",
];

const INSTRUCTOR_KEYS = [
  "avatar",
  "bio",
  "expertise",
  "id",
  "name",
  "rating",
  "socialLinks",
  "studentsCount",
];

const PRICING = {
  chatbot: 9.99,
  documentation: 14.99,
  examSimulator: 19.99,
  bundle: 34.99,
};

async function pngBytes(
  width = 64,
  height = 48,
): Promise<Uint8Array<ArrayBuffer>> {
  const buffer = await sharp({
    create: { width, height, channels: 3, background: "#3a7" },
  }).png().toBuffer();
  return new Uint8Array(buffer);
}

/** A multipart request through app.request(); the runtime sets the boundary. */
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

const mediaRows = async (ctx: TestContext) =>
  (await ctx.deps.db.select({ n: count() }).from(media))[0]!.n;

Deno.test("creating, reading, updating and deleting programs", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Jane Smith",
    });
    const other = await makeUserAndLogin(ctx, { role: "instructor" });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const student = await makeUserAndLogin(ctx, { role: "student" });

    await t.step(
      "POST /api/programs (JSON) is 201 with the 002 detail shape",
      async () => {
        const res = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: {
            title: "Full Stack Development Bootcamp",
            description: "Learn the stack from scratch",
            overview: "<p>Rich <strong>overview</strong></p>",
            category: "Development",
            pricing: PRICING,
            freeQuestionsCount: 5,
            prerequisites: ["Basic JavaScript", "HTML/CSS"],
            features: ["AI-powered chatbot assistance", "Lifetime access"],
            level: "Intermediate",
            duration: "8 weeks",
            language: "English",
          },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const p = res.body.program;
        assert.deepEqual(Object.keys(p).sort(), DETAIL_KEYS);
        assert.deepEqual(Object.keys(p.instructor).sort(), INSTRUCTOR_KEYS);
        assert.match(p.id, /^[0-9A-Z]{26}$/);
        assert.equal(p.title, "Full Stack Development Bootcamp");
        assert.equal(p.slug, "full-stack-development-bootcamp");
        assert.equal(p.description, "Learn the stack from scratch");
        assert.equal(p.overview, "<p>Rich <strong>overview</strong></p>");
        assert.equal(p.category, "Development");
        assert.equal(p.thumbnail, null);
        assert.equal(p.instructor.id, owner.user.id);
        assert.equal(p.instructor.name, "Jane Smith");
        assert.deepEqual(p.pricing, PRICING);
        assert.equal(p.currency, "USD", "USD is the default currency");
        assert.equal(p.freeQuestionsCount, 5);
        assert.deepEqual(p.prerequisites, ["Basic JavaScript", "HTML/CSS"]);
        assert.deepEqual(p.features, [
          "AI-powered chatbot assistance",
          "Lifetime access",
        ]);
        assert.equal(p.level, "Intermediate");
        assert.equal(p.duration, "8 weeks");
        assert.equal(p.language, "English");
        assert.equal(p.status, "draft", "a program starts as a draft");
        assert.equal(p.featured, false);
        assert.deepEqual(p.curriculum, []);
        assert.equal(p.rating, 0);
        assert.equal(p.totalReviews, 0);
        assert.equal(p.enrolledCount, 0);
        assert.equal(p.totalQuestions, 0);
        assert.equal(p.deletedAt, null);
        assert.equal(new Date(p.createdAt).toISOString(), p.createdAt);
        assert.equal(p.lastUpdated, p.updatedAt);
      },
    );

    await t.step(
      "prices are decimals in major units that round-trip exactly, with the currency upper-cased",
      async () => {
        const pricing = {
          chatbot: 0.29,
          documentation: 1.15,
          examSimulator: 0,
          bundle: 999999.99,
        };
        const res = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: {
            title: "Pricing Round Trip",
            category: "Financial",
            pricing,
            currency: "eur",
          },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.deepEqual(res.body.program.pricing, pricing);
        assert.equal(res.body.program.currency, "EUR");
        const [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, res.body.program.id),
        );
        assert.equal(row!.priceChatbot, 29, "stored in minor units");
        assert.equal(row!.priceDocumentation, 115);
        assert.equal(row!.priceBundle, 99999999);
        const again = await api(
          ctx,
          "GET",
          `/api/programs/${res.body.program.id}`,
          { token: owner.token },
        );
        assert.deepEqual(again.body.program.pricing, pricing);
        assert.equal(again.body.program.currency, "EUR");
      },
    );

    await t.step(
      "the slug is derived from the title and made unique with -2, -3 on duplicates",
      async () => {
        const title = "Full-Stack Développement 101!";
        const slugs = [];
        for (let i = 0; i < 3; i++) {
          const res = await api(ctx, "POST", "/api/programs", {
            token: i === 1 ? other.token : owner.token,
            body: { title, category: "Development" },
          });
          assert.equal(res.status, 201, JSON.stringify(res.body));
          slugs.push(res.body.program.slug);
        }
        assert.deepEqual(slugs, [
          "full-stack-developpement-101",
          "full-stack-developpement-101-2",
          "full-stack-developpement-101-3",
        ]);
      },
    );

    await t.step(
      "a draft's slug follows its title; renaming it to the same title keeps the slug",
      async () => {
        const created = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: { title: "Working Title", category: "Marketing" },
        });
        const id = created.body.program.id;
        assert.equal(created.body.program.slug, "working-title");
        const renamed = await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { title: "Growth Marketing Basics" },
        });
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        assert.equal(renamed.body.program.title, "Growth Marketing Basics");
        assert.equal(renamed.body.program.slug, "growth-marketing-basics");
        const same = await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { title: "Growth Marketing Basics" },
        });
        assert.equal(same.body.program.slug, "growth-marketing-basics");
        const oldSlug = await api(ctx, "GET", "/api/programs/working-title", {
          token: owner.token,
        });
        assert.equal(oldSlug.status, 404, "a draft's old slug is released");
      },
    );

    await t.step(
      "after publishing, a title change keeps the slug, even once unpublished again",
      async () => {
        const created = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: { title: "Launch Day", category: "Technology" },
        });
        const id = created.body.program.id;
        const published = await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { status: "published" },
        });
        assert.equal(published.body.program.status, "published");
        const renamed = await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { title: "Launch Week" },
        });
        assert.equal(renamed.status, 200);
        assert.equal(renamed.body.program.title, "Launch Week");
        assert.equal(renamed.body.program.slug, "launch-day");
        await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { status: "draft" },
        });
        const again = await api(ctx, "PUT", `/api/programs/${id}`, {
          token: owner.token,
          body: { title: "Launch Month" },
        });
        assert.equal(again.body.program.slug, "launch-day");
        const bySlug = await api(ctx, "GET", "/api/programs/launch-day", {
          token: owner.token,
        });
        assert.equal(bySlug.status, 200);
        assert.equal(bySlug.body.program.id, id);
      },
    );

    await t.step(
      "GET /api/programs/:idOrSlug finds the same program by id and by slug",
      async () => {
        const program = await makeProgram(ctx, owner.user, {
          title: "Lookup Both Ways",
        });
        const byId = await api(ctx, "GET", `/api/programs/${program.id}`);
        const bySlug = await api(ctx, "GET", "/api/programs/lookup-both-ways");
        assert.equal(byId.status, 200);
        assert.equal(bySlug.status, 200);
        assert.deepEqual(byId.body, bySlug.body);
        assert.deepEqual(Object.keys(byId.body).sort(), [
          "isEnrolled",
          "program",
          "success",
          "userProgress",
        ]);
        assert.equal(byId.body.program.id, program.id);
        assert.deepEqual(Object.keys(byId.body.program).sort(), DETAIL_KEYS);
        assert.equal(byId.body.isEnrolled, false);
        assert.equal(byId.body.userProgress, null);
        await enroll(ctx, student.user.id, program.id, "chatbot");
        const enrolled = await api(ctx, "GET", `/api/programs/${program.id}`, {
          token: student.token,
        });
        assert.equal(enrolled.body.isEnrolled, true);
        assert.equal(enrolled.body.program.enrolledCount, 1);
        assert.equal(
          enrolled.body.program.instructor.studentsCount,
          1,
          "the instructor's students are counted from enrollments",
        );
        const stranger = await api(ctx, "GET", `/api/programs/${program.id}`, {
          token: other.token,
        });
        assert.equal(stranger.body.isEnrolled, false);
        const missing = await api(
          ctx,
          "GET",
          "/api/programs/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        );
        assert.equal(missing.status, 404);
        assert.equal(missing.body.error.code, "NOT_FOUND");
        const missingSlug = await api(ctx, "GET", "/api/programs/no-such-slug");
        assert.equal(missingSlug.status, 404);
      },
    );

    await t.step(
      "invalid input is 422 VALIDATION_FAILED with details.fields naming the field",
      async () => {
        const cases: [string, Record<string, unknown>, string][] = [
          [
            "negative price",
            { pricing: { ...PRICING, chatbot: -1 } },
            "pricing.chatbot",
          ],
          [
            "three decimals",
            { pricing: { ...PRICING, bundle: 34.999 } },
            "pricing.bundle",
          ],
          [
            "a price as a string",
            { pricing: { ...PRICING, documentation: "14.99" } },
            "pricing.documentation",
          ],
          [
            "an unknown price key",
            { pricing: { ...PRICING, lifetime: 5 } },
            "pricing.lifetime",
          ],
          ["unknown category", { category: "Underwater Basketry" }, "category"],
          ["unknown field", { price: 10 }, "price"],
          ["JPY currency", { currency: "JPY" }, "currency"],
          ["not a currency code", { currency: "dollars" }, "currency"],
          ["unknown level", { level: "Expert" }, "level"],
          ["empty title", { title: "   " }, "title"],
          [
            "negative free questions",
            { freeQuestionsCount: -1 },
            "freeQuestionsCount",
          ],
          ["unknown status", { status: "archived" }, "status"],
        ];
        const before = (await ctx.deps.db.select({ n: count() }).from(
          programs,
        ))[0]!.n;
        for (const [label, fields, key] of cases) {
          const res = await api(ctx, "POST", "/api/programs", {
            token: owner.token,
            body: {
              title: "Invalid Program",
              category: "Development",
              ...fields,
            },
          });
          assert.equal(
            res.status,
            422,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.success, false);
          assert.equal(res.body.error.code, "VALIDATION_FAILED", label);
          assert.equal(
            typeof res.body.error.details.fields[key],
            "string",
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
        }
        const missingTitle = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: { category: "Development" },
        });
        assert.equal(missingTitle.status, 422);
        assert.ok(missingTitle.body.error.details.fields.title);
        const after = (await ctx.deps.db.select({ n: count() }).from(
          programs,
        ))[0]!.n;
        assert.equal(after, before, "no rejected program was stored");
      },
    );

    await t.step(
      "an invalid PUT is 422 and changes nothing",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const before = await api(ctx, "GET", `/api/programs/${program.id}`);
        for (
          const body of [
            { title: "Renamed", pricing: { ...PRICING, chatbot: -0.01 } },
            { title: "Renamed", category: "Nope" },
            { title: "Renamed", currency: "JPY" },
            { title: "Renamed", ownerId: other.user.id },
          ]
        ) {
          const res = await api(ctx, "PUT", `/api/programs/${program.id}`, {
            token: owner.token,
            body,
          });
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
        }
        const after = await api(ctx, "GET", `/api/programs/${program.id}`);
        assert.deepEqual(after.body, before.body);
      },
    );

    await t.step(
      "a text/plain body is 415 UNSUPPORTED_MEDIA_TYPE; malformed JSON is 400 INVALID_JSON",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        for (
          const [method, path] of [
            ["POST", "/api/programs"],
            ["PUT", `/api/programs/${program.id}`],
          ]
        ) {
          const plain = await api(ctx, method!, path!, {
            token: owner.token,
            body: JSON.stringify({ title: "Plain", category: "Development" }),
            headers: { "Content-Type": "text/plain" },
          });
          assert.equal(plain.status, 415, `${method} ${path}`);
          assert.equal(plain.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
          const broken = await api(ctx, method!, path!, {
            token: owner.token,
            body: '{"title": "Broken",',
          });
          assert.equal(broken.status, 400, `${method} ${path}`);
          assert.equal(broken.body.error.code, "INVALID_JSON");
          const array = await api(ctx, method!, path!, {
            token: owner.token,
            body: [],
          });
          assert.equal(array.status, 422, `${method} ${path}`);
        }
      },
    );

    await t.step(
      "DELETE is a soft delete: gone for the public and the owner, kept for admins and in the table",
      async () => {
        const program = await makeProgram(ctx, owner.user, {
          title: "Soon Deleted",
        });
        await enroll(ctx, student.user.id, program.id, "bundle");
        const res = await api(ctx, "DELETE", `/api/programs/${program.id}`, {
          token: owner.token,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          success: true,
          message: "Program deleted",
        });

        for (const token of [undefined, student.token, owner.token]) {
          const byId = await api(ctx, "GET", `/api/programs/${program.id}`, {
            token,
          });
          assert.equal(byId.status, 404);
          const bySlug = await api(ctx, "GET", "/api/programs/soon-deleted", {
            token,
          });
          assert.equal(bySlug.status, 404);
          const list = await api(ctx, "GET", "/api/programs?limit=100", {
            token,
          });
          assert.ok(
            !list.body.programs.some((p: { id: string }) =>
              p.id === program.id
            ),
            "gone from the list",
          );
        }

        const adminView = await api(ctx, "GET", `/api/programs/${program.id}`, {
          token: admin.token,
        });
        assert.equal(adminView.status, 200);
        assert.equal(typeof adminView.body.program.deletedAt, "string");
        const adminDefault = await api(ctx, "GET", "/api/programs?limit=100", {
          token: admin.token,
        });
        assert.ok(
          !adminDefault.body.programs.some((p: { id: string }) =>
            p.id === program.id
          ),
          "deleted programs are not in the admin's default list",
        );
        const deletedList = await api(
          ctx,
          "GET",
          "/api/programs?status=deleted&limit=100",
          { token: admin.token },
        );
        assert.equal(deletedList.status, 200);
        assert.deepEqual(
          deletedList.body.programs.map((p: { id: string }) => p.id),
          [program.id],
        );
        const ownerDeleted = await api(
          ctx,
          "GET",
          "/api/programs?status=deleted",
          { token: owner.token },
        );
        assert.equal(ownerDeleted.body.programs.length, 0);

        const [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, program.id),
        );
        assert.ok(row, "the row is still there");
        assert.ok(row.deletedAt instanceof Date);
        const kept = await ctx.deps.db.select().from(enrollments).where(
          eq(enrollments.programId, program.id),
        );
        assert.equal(kept.length, 1, "enrollments stay");

        const twice = await api(ctx, "DELETE", `/api/programs/${program.id}`, {
          token: owner.token,
        });
        assert.equal(twice.status, 404);
        const edit = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: admin.token,
          body: { title: "Back from the dead" },
        });
        assert.equal(edit.status, 404, "a deleted program cannot be edited");
        const reuse = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: { title: "Soon Deleted", category: "Development" },
        });
        assert.equal(
          reuse.body.program.slug,
          "soon-deleted-2",
          "a deleted program keeps its slug",
        );
      },
    );

    await t.step(
      "featured is set by admins only: an instructor gets 403 on create and update",
      async () => {
        const create = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: {
            title: "Feature Me",
            category: "Development",
            featured: true,
          },
        });
        assert.equal(create.status, 403);
        assert.equal(create.body.error.code, "FORBIDDEN");
        const program = await makeProgram(ctx, owner.user);
        const update = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: owner.token,
          body: { featured: true },
        });
        assert.equal(update.status, 403);
        const still = await api(ctx, "GET", `/api/programs/${program.id}`);
        assert.equal(still.body.program.featured, false);

        const byAdmin = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: admin.token,
          body: { featured: true },
        });
        assert.equal(byAdmin.status, 200);
        assert.equal(byAdmin.body.program.featured, true);
        assert.equal(
          byAdmin.body.program.instructor.id,
          owner.user.id,
          "an admin's edit does not take the program over",
        );
        const adminCreate = await api(ctx, "POST", "/api/programs", {
          token: admin.token,
          body: {
            title: "Admin Featured",
            category: "Technology",
            featured: true,
            status: "published",
          },
        });
        assert.equal(adminCreate.status, 201);
        assert.equal(adminCreate.body.program.featured, true);
        await api(ctx, "DELETE", `/api/programs/${program.id}`, {
          token: owner.token,
        });
        const [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, program.id),
        );
        assert.equal(row!.featured, false, "deleting unfeatures");
      },
    );

    await t.step(
      "multipart create: string fields, pricing as a JSON string, and a PNG thumbnail served as WebP",
      async () => {
        const form = new FormData();
        form.set("title", "Advanced React Patterns");
        form.set("description", "Master advanced React");
        form.set("overview", "<p>Hooks <em>everywhere</em></p>");
        form.set("category", "development");
        form.set(
          "pricing",
          JSON.stringify({
            chatbot: 12.99,
            documentation: 17.99,
            examSimulator: 22.99,
            bundle: 39.99,
          }),
        );
        form.set("freeQuestionsCount", "3");
        form.set("prerequisites", JSON.stringify(["React Basics"]));
        form.set("level", "Advanced");
        form.set("duration", "6 weeks");
        form.set("status", "published");
        form.set(
          "thumbnail",
          new Blob([await pngBytes(300, 200)], { type: "image/png" }),
          "cover.png",
        );
        const res = await sendForm(
          ctx,
          "POST",
          "/api/programs",
          form,
          owner.token,
        );
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const p = res.body.program;
        assert.deepEqual(Object.keys(p).sort(), DETAIL_KEYS);
        assert.equal(p.title, "Advanced React Patterns");
        assert.equal(p.category, "Development");
        assert.deepEqual(p.pricing, {
          chatbot: 12.99,
          documentation: 17.99,
          examSimulator: 22.99,
          bundle: 39.99,
        });
        assert.equal(p.freeQuestionsCount, 3);
        assert.deepEqual(p.prerequisites, ["React Basics"]);
        assert.equal(p.level, "Advanced");
        assert.equal(p.status, "published");
        assert.equal(p.overview, "<p>Hooks <em>everywhere</em></p>");
        assert.match(
          p.thumbnail,
          new RegExp(`^${APP_URL}/media/[0-9A-Z]{26}/display$`),
        );
        const file = await ctx.app.request(new URL(p.thumbnail).pathname);
        assert.equal(file.status, 200);
        assert.equal(file.headers.get("content-type"), "image/webp");
        const bytes = new Uint8Array(await file.arrayBuffer());
        assert.equal((await sharp(bytes).metadata()).format, "webp");
        const listed = await api(ctx, "GET", "/api/programs?limit=100");
        const summary = listed.body.programs.find((s: { id: string }) =>
          s.id === p.id
        );
        assert.equal(summary.thumbnail, p.thumbnail);
      },
    );

    await t.step(
      "multipart update replaces the thumbnail, thumbnailMediaId null clears it, a non-image thumbnail is 415",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const form = new FormData();
        form.set("title", "With A New Cover");
        form.set(
          "thumbnail",
          new Blob([await pngBytes(40, 40)], { type: "image/png" }),
          "new.png",
        );
        const res = await sendForm(
          ctx,
          "PUT",
          `/api/programs/${program.id}`,
          form,
          owner.token,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.program.title, "With A New Cover");
        assert.match(
          res.body.program.thumbnail,
          /\/media\/[0-9A-Z]{26}\/display$/,
        );
        const cleared = await api(ctx, "PUT", `/api/programs/${program.id}`, {
          token: owner.token,
          body: { thumbnailMediaId: null },
        });
        assert.equal(cleared.status, 200);
        assert.equal(cleared.body.program.thumbnail, null, "null clears it");

        const spoofed = new FormData();
        spoofed.set("title", "Spoofed Cover");
        spoofed.set("category", "Development");
        spoofed.set(
          "thumbnail",
          new Blob([new TextEncoder().encode("not really a png")], {
            type: "image/png",
          }),
          "cover.png",
        );
        const rejected = await sendForm(
          ctx,
          "POST",
          "/api/programs",
          spoofed,
          owner.token,
        );
        assert.equal(rejected.status, 415);
        assert.equal(rejected.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
        const none = await api(ctx, "GET", "/api/programs/spoofed-cover", {
          token: owner.token,
        });
        assert.equal(none.status, 404, "nothing was created");
      },
    );

    await t.step(
      "multipart with pricing that is not JSON is 422 for pricing",
      async () => {
        const form = new FormData();
        form.set("title", "Bad Pricing Form");
        form.set("category", "Development");
        form.set("pricing", "{chatbot: 1");
        const res = await sendForm(
          ctx,
          "POST",
          "/api/programs",
          form,
          owner.token,
        );
        assert.equal(res.status, 422);
        assert.ok(res.body.error.details.fields.pricing);
        const wrongType = new FormData();
        wrongType.set("title", "Bad Count Form");
        wrongType.set("category", "Development");
        wrongType.set("freeQuestionsCount", "three");
        const count = await sendForm(
          ctx,
          "POST",
          "/api/programs",
          wrongType,
          owner.token,
        );
        assert.equal(count.status, 422);
        assert.ok(count.body.error.details.fields.freeQuestionsCount);
      },
    );

    await t.step(
      "a multipart create or update that is rejected stores no upload",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const png = await pngBytes(32, 32);
        const cases: [
          string,
          string,
          string,
          Record<string, string>,
          number,
        ][] = [
          ["create, unknown category", "POST", "/api/programs", {
            title: "Orphan Cover",
            category: "Underwater Basketry",
          }, 422],
          ["create, featured by an instructor", "POST", "/api/programs", {
            title: "Orphan Featured",
            category: "Development",
            featured: "true",
          }, 403],
          ["update, unknown category", "PUT", `/api/programs/${program.id}`, {
            category: "Underwater Basketry",
          }, 422],
        ];
        const leaks: string[] = [];
        for (const [label, method, path, fields, status] of cases) {
          const before = await mediaRows(ctx);
          const form = new FormData();
          for (const [key, value] of Object.entries(fields)) {
            form.set(key, value);
          }
          form.set(
            "thumbnail",
            new Blob([png], { type: "image/png" }),
            "x.png",
          );
          const res = await sendForm(ctx, method, path, form, owner.token);
          assert.equal(
            res.status,
            status,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          const after = await mediaRows(ctx);
          if (after !== before) {
            leaks.push(`${label}: ${after - before} media row(s) stored`);
          }
        }
        assert.deepEqual(
          leaks,
          [],
          "a rejected request leaves no media record behind",
        );
      },
    );

    await t.step(
      "thumbnailMediaId must be an image the caller uploaded (422 otherwise)",
      async () => {
        const form = new FormData();
        form.set("title", "Other's Cover Source");
        form.set("category", "Development");
        form.set(
          "thumbnail",
          new Blob([await pngBytes(20, 20)], { type: "image/png" }),
          "theirs.png",
        );
        const theirs = await sendForm(
          ctx,
          "POST",
          "/api/programs",
          form,
          other.token,
        );
        assert.equal(theirs.status, 201);
        const mediaId = new URL(theirs.body.program.thumbnail).pathname
          .split("/")[2];
        const res = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: {
            title: "Borrowed Cover",
            category: "Development",
            thumbnailMediaId: mediaId,
          },
        });
        assert.equal(res.status, 422);
        assert.ok(res.body.error.details.fields.thumbnailMediaId);
        const own = await api(ctx, "POST", "/api/programs", {
          token: other.token,
          body: {
            title: "Reused Cover",
            category: "Development",
            thumbnailMediaId: mediaId,
          },
        });
        assert.equal(own.status, 201);
        assert.equal(own.body.program.thumbnail, theirs.body.program.thumbnail);
      },
    );
  } finally {
    await ctx.close();
  }
});
