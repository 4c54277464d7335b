import assert from "node:assert/strict";
import { stripControlChars } from "../../../server/lib/plain_text.ts";
import { eq, inArray } from "drizzle-orm";
import { lessons, programs } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeProgram, makeUserAndLogin } from "../../helpers/factories.ts";
import {
  assertNoActiveContent,
  XSS_PAYLOADS,
} from "../../fixtures/xss_payloads.ts";

/** Every payload whose HTML is unsafe, with the reason: one failure lists them all. */
function unsafe(results: { payload: string; html: unknown }[]) {
  const failures: string[] = [];
  for (const { payload, html } of results) {
    if (typeof html !== "string") {
      failures.push(`${JSON.stringify(payload)}: no HTML (${typeof html})`);
      continue;
    }
    try {
      assertNoActiveContent(html);
    } catch (error) {
      failures.push(
        `${JSON.stringify(payload)} -> ${JSON.stringify(html)}: ${
          (error as Error).message
        }`,
      );
    }
  }
  return failures;
}

Deno.test("program overviews and lesson content never carry active content", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });

    await t.step("the fixture has at least 20 payloads", () => {
      assert.ok(XSS_PAYLOADS.length >= 20, String(XSS_PAYLOADS.length));
    });

    await t.step(
      "every payload as the overview of a new program comes back inert, in the response and as stored",
      async () => {
        const results: { payload: string; html: unknown }[] = [];
        const ids = new Map<string, string>();
        for (const [i, payload] of XSS_PAYLOADS.entries()) {
          const created = await api(ctx, "POST", "/api/programs", {
            token: owner.token,
            body: {
              title: `Overview payload ${i}`,
              category: "Development",
              status: "published",
              overview: payload,
            },
          });
          assert.equal(created.status, 201, JSON.stringify(created.body));
          results.push({ payload, html: created.body.program.overview });
          ids.set(created.body.program.id, payload);
        }
        const stored = await ctx.deps.db.select({
          id: programs.id,
          html: programs.overviewHtml,
        }).from(programs).where(inArray(programs.id, [...ids.keys()]));
        assert.equal(stored.length, XSS_PAYLOADS.length);
        for (const row of stored) {
          results.push({ payload: ids.get(row.id)!, html: row.html });
        }
        const read = await api(ctx, "GET", `/api/programs/${stored[0]!.id}`);
        assert.equal(read.body.program.overview, stored[0]!.html);
        assert.deepEqual(unsafe(results), []);
      },
    );

    await t.step(
      "every payload as an updated overview comes back inert",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const results: { payload: string; html: unknown }[] = [];
        for (const payload of XSS_PAYLOADS) {
          const updated = await api(ctx, "PUT", `/api/programs/${program.id}`, {
            token: owner.token,
            body: { overview: payload },
          });
          assert.equal(updated.status, 200, JSON.stringify(updated.body));
          results.push({ payload, html: updated.body.program.overview });
        }
        const last = await api(ctx, "GET", `/api/programs/${program.id}`);
        results.push({
          payload: XSS_PAYLOADS.at(-1)!,
          html: last.body.program.overview,
        });
        assert.deepEqual(unsafe(results), []);
      },
    );

    await t.step(
      "every payload as lesson Markdown renders to inert contentHtml, as returned and as stored",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const base = `/api/programs/${program.id}`;
        const module = await api(ctx, "POST", `${base}/modules`, {
          token: owner.token,
          body: { title: "Payloads" },
        });
        const moduleId = module.body.module.id;
        const results: { payload: string; html: unknown }[] = [];
        for (const [i, payload] of XSS_PAYLOADS.entries()) {
          const created = await api(
            ctx,
            "POST",
            `${base}/modules/${moduleId}/lessons`,
            {
              token: owner.token,
              body: { title: `Lesson payload ${i}`, content: payload },
            },
          );
          assert.equal(created.status, 201, JSON.stringify(created.body));
          assert.equal(
            created.body.lesson.content,
            stripControlChars(payload),
            "the author's Markdown source is kept as written, less control characters",
          );
          results.push({ payload, html: created.body.lesson.contentHtml });
        }
        const stored = await ctx.deps.db.select().from(lessons).where(
          eq(lessons.programId, program.id),
        );
        assert.equal(stored.length, XSS_PAYLOADS.length);
        for (const row of stored) {
          results.push({ payload: row.contentMarkdown, html: row.contentHtml });
        }
        const read = await api(ctx, "GET", `${base}/lessons/${stored[0]!.id}`, {
          token: owner.token,
        });
        assert.equal(read.body.lesson.contentHtml, stored[0]!.contentHtml);
        assert.deepEqual(unsafe(results), []);
      },
    );

    await t.step(
      "editing a lesson re-renders it: the Markdown-syntax payloads stay inert through PUT",
      async () => {
        const program = await makeProgram(ctx, owner.user);
        const base = `/api/programs/${program.id}`;
        const module = await api(ctx, "POST", `${base}/modules`, {
          token: owner.token,
          body: { title: "Edits" },
        });
        const lesson = await api(
          ctx,
          "POST",
          `${base}/modules/${module.body.module.id}/lessons`,
          { token: owner.token, body: { title: "Edited", content: "safe" } },
        );
        const markdownPayloads = XSS_PAYLOADS.filter((p) => !p.startsWith("<"));
        assert.ok(markdownPayloads.length >= 10);
        const results: { payload: string; html: unknown }[] = [];
        for (const payload of markdownPayloads) {
          const updated = await api(
            ctx,
            "PUT",
            `${base}/lessons/${lesson.body.lesson.id}`,
            { token: owner.token, body: { content: payload } },
          );
          assert.equal(updated.status, 200, JSON.stringify(updated.body));
          assert.equal(updated.body.lesson.content, payload);
          results.push({ payload, html: updated.body.lesson.contentHtml });
        }
        assert.deepEqual(unsafe(results), []);
      },
    );

    await t.step(
      "ordinary formatting survives in overviews and lessons",
      async () => {
        const overview = '<h2>What you learn</h2><p class="ql-align-center">' +
          "<strong>Bold</strong>, <em>italic</em>, <u>underlined</u> and " +
          '<a href="https://ok.example/docs">a link</a></p>' +
          "<ul><li>one</li><li>two</li></ul><blockquote>quoted</blockquote>" +
          '<p><img src="https://cdn.example/pic.png" alt="pic"></p>';
        const created = await api(ctx, "POST", "/api/programs", {
          token: owner.token,
          body: { title: "Formatted", category: "Development", overview },
        });
        assert.equal(created.status, 201);
        const html: string = created.body.program.overview;
        assertNoActiveContent(html);
        for (
          const fragment of [
            "<h2>What you learn</h2>",
            '<p class="ql-align-center">',
            "<strong>Bold</strong>",
            "<em>italic</em>",
            "<u>underlined</u>",
            'href="https://ok.example/docs"',
            ">a link</a>",
            "<li>one</li><li>two</li>",
            "<blockquote>quoted</blockquote>",
            'src="https://cdn.example/pic.png"',
          ]
        ) {
          assert.ok(html.includes(fragment), `${fragment} in ${html}`);
        }

        const program = await makeProgram(ctx, owner.user);
        const base = `/api/programs/${program.id}`;
        const module = await api(ctx, "POST", `${base}/modules`, {
          token: owner.token,
          body: { title: "Formatting" },
        });
        const lesson = await api(
          ctx,
          "POST",
          `${base}/modules/${module.body.module.id}/lessons`,
          {
            token: owner.token,
            body: {
              title: "Markdown",
              content: "# Heading\n\n**bold** and _italic_ and `code`\n\n" +
                "- item one\n- item two\n\n" +
                "[docs](https://ok.example/docs)\n\n" +
                "```ts\nconst a = 1 < 2;\n```\n\n" +
                "| a | b |\n| - | - |\n| 1 | 2 |",
            },
          },
        );
        assert.equal(lesson.status, 201);
        const rendered: string = lesson.body.lesson.contentHtml;
        assertNoActiveContent(rendered);
        for (
          const fragment of [
            "<h1>Heading</h1>",
            "<strong>bold</strong>",
            "<em>italic</em>",
            "<code>code</code>",
            "<li>item one</li>",
            'href="https://ok.example/docs"',
            "const a = 1 &lt; 2;",
            "<table>",
            "<td>1</td>",
          ]
        ) {
          assert.ok(rendered.includes(fragment), `${fragment} in ${rendered}`);
        }
      },
    );
  } finally {
    await ctx.close();
  }
});
