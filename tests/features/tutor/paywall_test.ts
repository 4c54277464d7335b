import assert from "node:assert/strict";
import {
  addLesson,
  addModule,
} from "../../../server/features/curriculum/service.ts";
import { SNIPPET_CHARS } from "../../../server/features/tutor/chat.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { startFakeOpenAi } from "../../helpers/fake_openai.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import { learner } from "../payments/support.ts";

// One long paragraph: more than a snippet, so cutting it shows.
const LESSON = Array.from(
  { length: 12 },
  (_, i) =>
    `Chlorophyll sentence ${
      i + 1
    } explains how leaves capture light for photosynthesis.`,
).join(" ");

Deno.test("the tutor does not give away lessons sold separately (documentation access)", async (t) => {
  const fake = startFakeOpenAi();
  const offline = await createTestContext();
  const online = await createTestContext(fake.env);
  try {
    for (
      const [label, ctx] of [["offline", offline], ["online", online]] as const
    ) {
      const teacher = await learner(ctx, "instructor");
      const program = await makeProgram(ctx, teacher.user);
      const module = await addModule(ctx.deps, teacher.user, program.id, {
        title: "Plants",
      });
      await addLesson(ctx.deps, teacher.user, program.id, module.id, {
        title: "Photosynthesis",
        content: LESSON,
      });
      const chatOnly = await learner(ctx);
      await enroll(ctx, chatOnly.user.id, program.id, "chatbot");
      const everything = await learner(ctx);
      await enroll(ctx, everything.user.id, program.id, "bundle");
      const ask = (token: string) =>
        api(ctx, "POST", "/api/ai/chat", {
          token,
          body: {
            message: "How does chlorophyll capture light?",
            programId: program.id,
          },
        });

      if (label === "offline") {
        await t.step(
          "extractive: chatbot access alone gets a short excerpt, labelled",
          async () => {
            const res = await ask(chatOnly.token);
            assert.equal(res.status, 200, JSON.stringify(res.body));
            assert.equal(res.body.mode, "extractive");
            assert.ok(
              !res.body.response.includes(LESSON.slice(0, SNIPPET_CHARS + 40)),
            );
            assert.match(
              res.body.response,
              /excerpts: the full lessons come with documentation access/,
            );
            assert.equal(
              res.body.citations.length,
              1,
              "still cited, with its link",
            );
          },
        );
        await t.step(
          "extractive: documentation access gets the passage in full",
          async () => {
            const res = await ask(everything.token);
            assert.ok(res.body.response.includes(LESSON));
          },
        );
      } else {
        await t.step(
          "the provider's prompt holds only the excerpt for chatbot-only learners",
          async () => {
            fake.reply({ content: "Leaves use chlorophyll [1]." }, {
              content: "Same [1].",
            });
            await ask(chatOnly.token);
            const chatCalls = fake.requests.filter((r) =>
              r.path.endsWith("/chat/completions")
            );
            const prompt = JSON.stringify(chatCalls.at(-1)!.body.messages);
            assert.ok(!prompt.includes(LESSON.slice(0, SNIPPET_CHARS + 40)));
            assert.match(prompt, /Do not reproduce the passages word for word/);
            await ask(everything.token);
            const full = JSON.stringify(
              fake.requests.filter((r) => r.path.endsWith("/chat/completions"))
                .at(-1)!.body.messages,
            );
            assert.ok(full.includes(LESSON));
          },
        );
      }
    }
  } finally {
    await offline.close();
    await online.close();
    await fake.close();
  }
});
