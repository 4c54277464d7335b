import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { eq } from "drizzle-orm";
import {
  aiAnswerCache,
  aiUsage,
  chatMessages,
  chatSessions,
  lessons,
  type User,
} from "../../../db/schema/mod.ts";
import {
  addLesson,
  addModule,
  deleteLesson,
  deleteModule,
  updateLesson,
} from "../../../server/features/curriculum/service.ts";
import { deleteProgram } from "../../../server/features/programs/service.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import type { CreateProgramInput } from "../../../server/features/programs/schemas.ts";
import {
  api,
  APP_URL,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { startFakeOpenAi } from "../../helpers/fake_openai.ts";
import {
  ADMIN_ACTOR,
  endAccess,
  enroll,
  makeProgram,
} from "../../helpers/factories.ts";
import { type Learner, learner } from "../payments/support.ts";

/** Two lessons on clearly different topics: grounding must tell them apart. */
const PHOTOSYNTHESIS = {
  title: "Photosynthesis",
  content: "# How plants feed themselves\n\n" +
    "Chlorophyll in the chloroplasts absorbs sunlight, and the plant turns carbon dioxide " +
    "and water into glucose, releasing oxygen as a by-product.",
};
const PHOTOSYNTHESIS_PASSAGE =
  "Chlorophyll in the chloroplasts absorbs sunlight, and the plant turns carbon dioxide and water into glucose";
const REVOLUTION = {
  title: "The French Revolution",
  content: "# A kingdom overturned\n\n" +
    "The storming of the Bastille in 1789 began the revolution. The National Assembly " +
    "abolished feudal privileges and the monarchy fell in 1792.",
};
const REVOLUTION_PASSAGE =
  "The storming of the Bastille in 1789 began the revolution";

const PHOTO_QUESTION = "How does chlorophyll help plants make glucose?";

/** A published program with one module holding the given lessons. */
async function tutorProgram(
  ctx: TestContext,
  owner: Pick<User, "id" | "role">,
  lessons: { title: string; content: string }[] = [
    PHOTOSYNTHESIS,
    REVOLUTION,
  ],
  fields: Partial<CreateProgramInput> = {},
) {
  const program = await makeProgram(ctx, owner, fields);
  const module = await addModule(ctx.deps, owner, program.id, {
    title: "Module one",
  });
  const lessonIds: string[] = [];
  for (const lesson of lessons) {
    lessonIds.push(
      (await addLesson(ctx.deps, owner, program.id, module.id, lesson)).id,
    );
  }
  return { program, lessonIds };
}

/** A free learner with chatbot access to the program. */
async function student(ctx: TestContext, programId: string) {
  const who = await learner(ctx);
  await enroll(ctx, who.user.id, programId, "chatbot");
  return who;
}

const ask = (
  ctx: TestContext,
  who: Learner | undefined,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) =>
  api(ctx, "POST", "/api/ai/chat", {
    ...(who ? { token: who.token } : {}),
    body,
    headers,
  });

const sessionOf = (ctx: TestContext, who: Learner, id: string) =>
  api(ctx, "GET", `/api/ai/chat/sessions/${id}`, { token: who.token });

const sessionsOf = (ctx: TestContext, who: Learner) =>
  api(ctx, "GET", "/api/ai/chat/sessions", { token: who.token });

const lessonLink = (programId: string, lessonId: string) =>
  `${APP_URL}/api/programs/${programId}/lessons/${lessonId}`;

/** Start of the next UTC day, computed independently of the server's code. */
const nextMidnight = (now: Date) =>
  new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1),
  ).toISOString();

/** Server-sent events as Hono writes them: `event:` and `data:` lines, blank-line separated. */
function parseSse(text: string) {
  return text.split(/\r?\n\r?\n/).filter((block) => block.trim()).map(
    (block) => {
      let event = "message";
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
      }
      return { event, data: JSON.parse(data.join("\n")) };
    },
  );
}

/** Waits until Date.now() has moved on, so the next stored row gets a later created_at. */
async function nextMillisecond() {
  const start = Date.now();
  while (Date.now() === start) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function usageRow(ctx: TestContext, userId: string) {
  const rows = await ctx.deps.db.select().from(aiUsage).where(
    eq(aiUsage.userId, userId),
  );
  return rows.reduce((n, row) => n + row.messages, 0);
}

async function storedMessages(ctx: TestContext, userId: string) {
  return await ctx.deps.db.select({ message: chatMessages }).from(chatMessages)
    .innerJoin(chatSessions, eq(chatSessions.id, chatMessages.sessionId))
    .where(eq(chatSessions.userId, userId));
}

Deno.test("tutor: an AI answer in 002's shape, its session, and history on the next question", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext(fake.env);
  try {
    const owner = await learner(ctx, "instructor");
    const { program, lessonIds } = await tutorProgram(ctx, owner.user, [
      PHOTOSYNTHESIS,
    ], { title: "Biology basics", level: "Beginner" });
    const me = await student(ctx, program.id);
    const answer1 =
      "Chlorophyll captures the energy of sunlight [1], which the plant uses to build glucose.";
    let sessionId = "";
    let firstMessageId = "";

    await t.step(
      "POST /api/ai/chat answers through the SDK with citations, mode and usage",
      async () => {
        fake.reply({ content: answer1 });
        const before = new Date();
        const res = await ask(ctx, me, {
          message: PHOTO_QUESTION,
          programId: program.id,
        });
        const after = new Date();
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        assert.equal(res.body.response, answer1);
        assert.equal(typeof res.body.sessionId, "string");
        assert.equal(typeof res.body.messageId, "string");
        assert.ok(!Number.isNaN(Date.parse(res.body.timestamp)));
        assert.equal(res.body.mode, "ai");
        assert.deepEqual(res.body.citations, [{
          lessonId: lessonIds[0],
          title: "Photosynthesis",
          link: lessonLink(program.id, lessonIds[0]!),
        }]);
        assert.equal(res.body.usage.used, 1);
        assert.equal(res.body.usage.limit, 10);
        assert.ok(
          [nextMidnight(before), nextMidnight(after)].includes(
            res.body.usage.resetAt,
          ),
        );
        assert.equal(
          "userMessageId" in res.body,
          false,
          "internal ids stay inside",
        );
        sessionId = res.body.sessionId;
        firstMessageId = res.body.messageId;

        const calls = fake.requestsTo("/chat/completions");
        assert.equal(calls.length, 1);
        const sent = calls[0]!;
        assert.equal(sent.authorization, "Bearer sk-test-fake");
        assert.equal(sent.body.model, "fake-model");
        assert.equal(sent.body.max_tokens, 500, "the free plan's answer size");
        const messages = sent.body.messages as {
          role: string;
          content: string;
        }[];
        assert.deepEqual(messages.map((m) => m.role), ["system", "user"]);
        assert.equal(messages[1]!.content, PHOTO_QUESTION);
        assert.match(
          messages[0]!.content,
          /"Biology basics" \(level: Beginner\)/,
        );
        assert.match(
          messages[0]!.content,
          /Progress: 0 of 1 lessons completed/,
        );
      },
    );

    await t.step(
      "the session is listed, titled by the first question, with both messages in order",
      async () => {
        const list = await sessionsOf(ctx, me);
        assert.equal(list.status, 200);
        assert.equal(list.body.sessions.length, 1);
        const [session] = list.body.sessions;
        assert.equal(session.id, sessionId);
        assert.equal(session.title, PHOTO_QUESTION);
        assert.equal(session.programId, program.id);
        assert.equal(session.messageCount, 2);

        const shown = await sessionOf(ctx, me, sessionId);
        assert.equal(shown.status, 200);
        const messages = shown.body.session.messages;
        assert.deepEqual(
          messages.map((m: { role: string; content: string }) => [
            m.role,
            m.content,
          ]),
          [["user", PHOTO_QUESTION], ["assistant", answer1]],
        );
        assert.equal(messages[1].id, firstMessageId);
        assert.equal(messages[1].status, "complete");
        assert.equal(messages[1].mode, "ai");
        assert.equal(messages[1].citations.length, 1);
        assert.equal(messages[1].rating, null);
      },
    );

    await t.step(
      "a second message in the session sends the earlier question and answer",
      async () => {
        fake.reply({ content: "In the chloroplasts of the leaf cells [1]." });
        const res = await ask(ctx, me, {
          message: "Where do the chloroplasts sit?",
          sessionId,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.sessionId, sessionId);
        assert.equal(res.body.mode, "ai");
        assert.equal(res.body.usage.used, 2);
        const sent = fake.requestsTo("/chat/completions").at(-1)!;
        const messages = sent.body.messages as {
          role: string;
          content: string;
        }[];
        assert.deepEqual(
          messages.map((m) => [m.role, m.role === "system" ? "" : m.content]),
          [
            ["system", ""],
            ["user", PHOTO_QUESTION],
            ["assistant", answer1],
            ["user", "Where do the chloroplasts sit?"],
          ],
        );
        const list = await sessionsOf(ctx, me);
        assert.equal(list.body.sessions.length, 1);
        assert.equal(list.body.sessions[0].messageCount, 4);
        assert.equal(
          list.body.sessions[0].title,
          PHOTO_QUESTION,
          "the title stays the first question",
        );
      },
    );

    await t.step(
      "a new question without sessionId starts a new session, listed first",
      async () => {
        fake.reply({ content: "Oxygen [1]." });
        const res = await ask(ctx, me, {
          message: "What gas do plants release?",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.notEqual(res.body.sessionId, sessionId);
        const list = await sessionsOf(ctx, me);
        assert.deepEqual(
          list.body.sessions.map((s: { id: string }) => s.id),
          [res.body.sessionId, sessionId],
        );
        assert.equal(list.body.pagination.total, 2);
        const paged = await api(
          ctx,
          "GET",
          "/api/ai/chat/sessions?page=2&limit=1",
          { token: me.token },
        );
        assert.equal(paged.status, 200);
        assert.deepEqual(
          paged.body.sessions.map((s: { id: string }) => s.id),
          [sessionId],
        );
        assert.equal(paged.body.pagination.total, 2);
      },
    );

    await t.step(
      "history is the session's last 8 messages, oldest first",
      async () => {
        // The session holds 4 messages; three more exchanges make 10.
        for (let i = 1; i <= 3; i++) {
          fake.reply({ content: `Answer ${i}` });
          const res = await ask(ctx, me, {
            message: `Follow-up ${i} about glucose`,
            sessionId,
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
        }
        fake.reply({ content: "Last answer" });
        const res = await ask(ctx, me, { message: "Last question", sessionId });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const messages = fake.requestsTo("/chat/completions").at(-1)!.body
          .messages as { role: string; content: string }[];
        assert.deepEqual(messages.slice(1).map((m) => m.content), [
          "Where do the chloroplasts sit?",
          "In the chloroplasts of the leaf cells [1].",
          "Follow-up 1 about glucose",
          "Answer 1",
          "Follow-up 2 about glucose",
          "Answer 2",
          "Follow-up 3 about glucose",
          "Answer 3",
          "Last question",
        ]);
        assert.deepEqual(
          messages.map((m) => m.role),
          ["system", ...Array(4).fill(["user", "assistant"]).flat(), "user"],
        );
      },
    );
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor grounding: the prompt carries the relevant lesson passage and not an unrelated one", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext(fake.env);
  try {
    const owner = await learner(ctx, "instructor");
    const { program, lessonIds } = await tutorProgram(ctx, owner.user);
    // Another program teaching the same topic: its lessons are not this program's.
    const other = await tutorProgram(ctx, owner.user, [{
      title: "Photosynthesis elsewhere",
      content:
        "Chlorophyll and glucose, as another school teaches them: OTHER-PROGRAM-MARKER.",
    }]);
    const me = await student(ctx, program.id);
    await enroll(ctx, me.user.id, other.program.id, "chatbot");
    // Many questions below: more than a free plan's 10 a day.
    await setSubscriptionByAdmin(
      ctx.deps,
      ADMIN_ACTOR,
      me.user.id,
      "premium",
      new Date(Date.now() + 30 * 86_400_000),
    );

    const systemOfLastCall = () => {
      const sent = fake.requestsTo("/chat/completions").at(-1)!;
      const messages = sent.body.messages as {
        role: string;
        content: string;
      }[];
      assert.equal(messages[0]!.role, "system");
      return messages[0]!.content;
    };

    await t.step("a question about photosynthesis", async () => {
      fake.reply({ content: "Sunlight is captured by chlorophyll [1]." });
      const res = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const system = systemOfLastCall();
      assert.ok(
        system.includes(PHOTOSYNTHESIS_PASSAGE),
        `the photosynthesis passage is in:\n${system}`,
      );
      assert.ok(!system.includes(REVOLUTION_PASSAGE));
      assert.ok(!system.includes("Bastille"));
      assert.ok(
        !system.includes("OTHER-PROGRAM-MARKER"),
        "another program's lessons stay out",
      );
      assert.match(system, /\[1\] "Photosynthesis": /);
      assert.deepEqual(
        res.body.citations.map((c: { lessonId: string }) => c.lessonId),
        [
          lessonIds[0],
        ],
      );
      assert.equal(res.body.citations[0].title, "Photosynthesis");
    });

    await t.step("a question about the revolution", async () => {
      fake.reply({ content: "In 1789, with the Bastille [1]." });
      const res = await ask(ctx, me, {
        message: "When was the Bastille stormed?",
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const system = systemOfLastCall();
      assert.ok(system.includes(REVOLUTION_PASSAGE), system);
      assert.ok(!system.includes(PHOTOSYNTHESIS_PASSAGE));
      assert.ok(!system.includes("chlorophyll"));
      assert.deepEqual(res.body.citations, [{
        lessonId: lessonIds[1],
        title: "The French Revolution",
        link: lessonLink(program.id, lessonIds[1]!),
      }]);
    });

    await t.step(
      "a question no lesson matches: the prompt says so, no citations",
      async () => {
        fake.reply({ content: "That is not in your lessons, but briefly…" });
        const res = await ask(ctx, me, {
          message: "Explain quantum chromodynamics",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const system = systemOfLastCall();
        assert.match(system, /No lesson passage matches this question\./);
        assert.ok(!system.includes(PHOTOSYNTHESIS_PASSAGE));
        assert.ok(!system.includes(REVOLUTION_PASSAGE));
        assert.deepEqual(res.body.citations, []);
      },
    );

    await t.step(
      "a lesson edit is searchable at once (the FTS triggers)",
      async () => {
        const module = await addModule(ctx.deps, owner.user, program.id, {
          title: "Module two",
        });
        const added = await addLesson(
          ctx.deps,
          owner.user,
          program.id,
          module.id,
          {
            title: "Cell respiration",
            content:
              "Mitochondria burn glucose with oxygen to release energy as ATP.",
          },
        );
        fake.reply({ content: "Mitochondria [1]." });
        const res = await ask(ctx, me, {
          message: "What do mitochondria produce?",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(systemOfLastCall().includes("Mitochondria burn glucose"));
        assert.equal(res.body.citations[0].lessonId, added.id);
      },
    );

    await t.step(
      "lesson edits and deletions reach the search (update and delete triggers)",
      async () => {
        const extra = await tutorProgram(ctx, owner.user, [{
          title: "Volcanoes",
          content: "Magma rises through the crust and erupts as lava.",
        }, {
          title: "Glaciers",
          content: "Glaciers carve valleys as compacted snow flows downhill.",
        }]);
        await enroll(ctx, me.user.id, extra.program.id, "chatbot");
        const [volcanoes, glaciers] = extra.lessonIds as [string, string];
        const systemFor = async (message: string) => {
          fake.reply({ content: "ok" });
          const res = await ask(ctx, me, {
            message,
            programId: extra.program.id,
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return { system: systemOfLastCall(), citations: res.body.citations };
        };

        await updateLesson(ctx.deps, owner.user, extra.program.id, volcanoes, {
          content: "Basalt plateaus form when fissures pour out runny lava.",
        });
        const edited = await systemFor("How do basalt plateaus form?");
        assert.ok(edited.system.includes("Basalt plateaus form"));
        const old = await systemFor("Where does magma rise?");
        assert.ok(!old.system.includes("Magma rises"), "the old text is gone");

        await updateLesson(ctx.deps, owner.user, extra.program.id, glaciers, {
          title: "Moraines",
        });
        const retitled = await systemFor("What are moraines?");
        assert.deepEqual(
          retitled.citations.map((c: { title: string }) => c.title),
          ["Moraines"],
        );

        await deleteLesson(ctx.deps, owner.user, extra.program.id, glaciers);
        const gone = await systemFor("How do glaciers carve valleys?");
        assert.match(gone.system, /No lesson passage matches this question/);
        assert.deepEqual(gone.citations, []);

        // Deleting a module removes its lessons by cascade; a lesson added afterwards can take
        // the freed rowid, which the search index must not still hold.
        const [module] = await ctx.deps.db.select({ id: lessons.moduleId })
          .from(
            lessons,
          ).where(eq(lessons.id, volcanoes));
        await deleteModule(ctx.deps, owner.user, extra.program.id, module!.id);
        const after = await systemFor("How do basalt plateaus form?");
        assert.match(after.system, /No lesson passage matches this question/);
        const fresh = await addModule(ctx.deps, owner.user, extra.program.id, {
          title: "Again",
        });
        const added = await addLesson(
          ctx.deps,
          owner.user,
          extra.program.id,
          fresh.id,
          {
            title: "Deltas",
            content: "Rivers drop silt where they meet the sea.",
          },
        );
        const delta = await systemFor("Where do rivers drop silt?");
        assert.deepEqual(
          delta.citations.map((c: { lessonId: string }) => c.lessonId),
          [added.id],
        );
        assert.ok(!delta.system.includes("Basalt"));
      },
    );

    await t.step({
      name:
        "only the paragraphs of a lesson that match the question go into the prompt",
      fn: async () => {
        const mixed = await tutorProgram(ctx, owner.user, [{
          title: "Notes",
          content: `${PHOTOSYNTHESIS.content}\n\n${REVOLUTION.content}`,
        }]);
        await enroll(ctx, me.user.id, mixed.program.id, "chatbot");
        fake.reply({ content: "1789 [1]." });
        const res = await ask(ctx, me, {
          message: "When was the Bastille stormed?",
          programId: mixed.program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const system = systemOfLastCall();
        assert.ok(system.includes(REVOLUTION_PASSAGE));
        assert.ok(
          !system.includes(PHOTOSYNTHESIS_PASSAGE),
          "the unrelated paragraph of the same lesson stays out",
        );
      },
    });

    await t.step(
      "without programId the tutor searches every program the learner has chatbot access to",
      async () => {
        fake.reply({ content: "Both lessons say so." });
        const res = await ask(ctx, me, {
          message: "What does chlorophyll absorb?",
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const system = systemOfLastCall();
        assert.ok(system.includes(PHOTOSYNTHESIS_PASSAGE));
        assert.ok(system.includes("OTHER-PROGRAM-MARKER"));
        assert.match(system, /asking about the programs they study/);
        const cited = res.body.citations.map((c: { lessonId: string }) =>
          c.lessonId
        );
        assert.ok(cited.includes(lessonIds[0]), JSON.stringify(cited));
        assert.ok(cited.includes(other.lessonIds[0]), JSON.stringify(cited));
        const list = await sessionsOf(ctx, me);
        const session = list.body.sessions.find((s: { id: string }) =>
          s.id === res.body.sessionId
        );
        assert.equal(session.programId, null);
      },
    );

    await t.step({
      name:
        "without programId, a program the learner can no longer see is not searched",
      fn: async () => {
        const doomed = await tutorProgram(ctx, owner.user, [{
          title: "Retired lesson",
          content: "Chlorophyll facts from a retired program: RETIRED-MARKER.",
        }]);
        await enroll(ctx, me.user.id, doomed.program.id, "chatbot");
        await deleteProgram(ctx.deps, owner.user, doomed.program.id);
        const direct = await ask(ctx, me, {
          message: "What does chlorophyll absorb?",
          programId: doomed.program.id,
        });
        assert.equal(direct.status, 404);
        fake.reply({ content: "ok" });
        const res = await ask(ctx, me, {
          message: "What does chlorophyll absorb?",
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(!systemOfLastCall().includes("RETIRED-MARKER"));
        assert.ok(
          !res.body.citations.some((c: { lessonId: string }) =>
            c.lessonId === doomed.lessonIds[0]
          ),
        );
      },
    });
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor streaming: token events, then done; the whole answer is stored", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext(fake.env);
  try {
    const owner = await learner(ctx, "instructor");
    const { program, lessonIds } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);
    const reply =
      "Chlorophyll absorbs sunlight [1], and the plant turns carbon dioxide and water into glucose.";

    await t.step("Accept: text/event-stream streams the answer", async () => {
      fake.reply({ content: reply });
      const res = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        programId: program.id,
      }, { Accept: "text/event-stream" });
      assert.equal(res.status, 200);
      assert.match(
        res.headers.get("content-type") ?? "",
        /^text\/event-stream/,
      );
      assert.equal(typeof res.body, "string");
      const events = parseSse(res.body);
      const tokens = events.filter((e) => e.event === "token");
      assert.ok(tokens.length >= 3, `several token events: ${res.body}`);
      assert.equal(tokens.map((e) => e.data.text).join(""), reply);
      assert.equal(events.at(-1)!.event, "done");
      assert.deepEqual(events.map((e) => e.event), [
        ...tokens.map(() => "token"),
        "done",
      ]);
      const done = events.at(-1)!.data;
      assert.equal(done.mode, "ai");
      assert.equal(typeof done.sessionId, "string");
      assert.equal(typeof done.messageId, "string");
      assert.deepEqual(done.citations, [{
        lessonId: lessonIds[0],
        title: "Photosynthesis",
        link: lessonLink(program.id, lessonIds[0]!),
      }]);
      assert.equal(done.usage.used, 1);

      const sent = fake.requestsTo("/chat/completions").at(-1)!;
      assert.equal(sent.body.stream, true);

      const shown = await sessionOf(ctx, me, done.sessionId);
      assert.equal(shown.status, 200);
      const [question, answer] = shown.body.session.messages;
      assert.equal(question.content, PHOTO_QUESTION);
      assert.equal(answer.id, done.messageId);
      assert.equal(answer.content, reply, "the stored answer is the full text");
      assert.equal(answer.status, "complete");
      assert.equal(answer.mode, "ai");
      assert.equal(shown.body.session.messageCount, 2);
    });

    await t.step(
      "a streamed answer from the cache comes as one token event",
      async () => {
        const other = await student(ctx, program.id);
        const res = await ask(ctx, other, {
          message: PHOTO_QUESTION,
          programId: program.id,
        }, { Accept: "text/event-stream" });
        const events = parseSse(res.body);
        assert.deepEqual(events.map((e) => e.event), ["token", "done"]);
        assert.equal(events[0]!.data.text, reply);
        assert.equal(events[1]!.data.mode, "cache");
        assert.equal(fake.requestsTo("/chat/completions").length, 1);
      },
    );

    await t.step(
      "a provider failure during a stream is an error event; the question is kept",
      async () => {
        fake.reply(
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
        );
        const res = await ask(ctx, me, {
          message: "Why are leaves green?",
          programId: program.id,
        }, { Accept: "text/event-stream" });
        assert.equal(res.status, 200);
        const events = parseSse(res.body);
        assert.deepEqual(events.map((e) => e.event), ["error"]);
        assert.equal(events[0]!.data.code, "AI_PROVIDER_ERROR");
        const sessionId = events[0]!.data.details.sessionId;
        const shown = await sessionOf(ctx, me, sessionId);
        assert.deepEqual(
          shown.body.session.messages.map((
            m: { role: string; status: string },
          ) => [m.role, m.status]),
          [["user", "complete"], ["assistant", "failed"]],
        );
      },
    );

    await t.step(
      "errors before the answer are ordinary JSON envelopes, not streams",
      async () => {
        const stranger = await learner(ctx);
        const res = await ask(ctx, stranger, {
          message: PHOTO_QUESTION,
          programId: program.id,
        }, { Accept: "text/event-stream" });
        assert.equal(res.status, 402);
        assert.match(res.headers.get("content-type") ?? "", /json/);
        assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
      },
    );
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor provider failures: 502 on 500/429, 504 on timeout; the question is kept and not counted", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext({
    ...fake.env,
    OPENAI_TIMEOUT_MS: "300",
  });
  try {
    const owner = await learner(ctx, "instructor");
    const { program } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);
    const chatCalls = () => fake.requestsTo("/chat/completions").length;

    await t.step(
      "an empty answer from the provider is a 502, not a blank reply",
      async () => {
        fake.reply({ content: "   " });
        const res = await ask(ctx, me, {
          message: "What does an empty answer look like?",
          programId: program.id,
        });
        assert.equal(res.status, 502, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "AI_PROVIDER_ERROR");
        const session = await api(
          ctx,
          "GET",
          `/api/ai/chat/sessions/${res.body.error.details.sessionId}`,
          { token: me.token },
        );
        assert.deepEqual(
          session.body.session.messages.map((m: { status: string }) =>
            m.status
          ),
          ["complete", "failed"],
        );
        assert.equal(session.body.session.messageCount, 2);
      },
    );

    await t.step("a first answer counts one message", async () => {
      fake.reply({ content: "Fine [1]." });
      const res = await ask(ctx, me, {
        message: "What does chlorophyll absorb?",
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.usage.used, 1);
    });

    const failsWith = (
      label: string,
      replies: Parameters<typeof fake.reply>,
      expected: { status: number; code: string; providerStatus?: number },
    ) =>
      t.step(label, async () => {
        fake.reply(...replies);
        const callsBefore = chatCalls();
        const message = `${label}: what does glucose store?`;
        const res = await ask(ctx, me, { message, programId: program.id });
        assert.equal(res.status, expected.status, JSON.stringify(res.body));
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, expected.code);
        if (expected.providerStatus) {
          assert.equal(
            res.body.error.details.providerStatus,
            expected.providerStatus,
          );
        }
        assert.ok(!JSON.stringify(res.body).includes("fake provider failure"));
        assert.equal(chatCalls() - callsBefore, 3, "the SDK tried three times");
        const { sessionId, userMessageId } = res.body.error.details;
        assert.equal(typeof sessionId, "string");

        const shown = await sessionOf(ctx, me, sessionId);
        assert.equal(shown.status, 200);
        const messages = shown.body.session.messages;
        assert.equal(messages.length, 2);
        assert.equal(messages[0].id, userMessageId);
        assert.equal(messages[0].role, "user");
        assert.equal(
          messages[0].content,
          message,
          "what the learner wrote is kept",
        );
        assert.equal(messages[1].role, "assistant");
        assert.equal(messages[1].status, "failed");
        assert.equal(messages[1].errorCode, expected.code);
        assert.equal(shown.body.session.title, message);

        const feedback = await api(
          ctx,
          "POST",
          `/api/ai/chat/messages/${messages[1].id}/feedback`,
          { token: me.token, body: { rating: "down" } },
        );
        assert.equal(feedback.status, 404, "a failed answer cannot be rated");
        assert.equal(await usageRow(ctx, me.user.id), 1, "given back");
      });

    await failsWith("provider 500", [
      { status: 500, retryAfterMs: 1 },
      { status: 500, retryAfterMs: 1 },
      { status: 500, retryAfterMs: 1 },
    ], { status: 502, code: "AI_PROVIDER_ERROR", providerStatus: 500 });

    await failsWith("provider 429", [
      { status: 429, retryAfterMs: 1 },
      { status: 429, retryAfterMs: 1 },
      { status: 429, retryAfterMs: 1 },
    ], { status: 502, code: "AI_PROVIDER_ERROR", providerStatus: 429 });

    await failsWith("provider timeout", [
      { delayMs: 5_000, content: "too late" },
      { delayMs: 5_000, content: "too late" },
      { delayMs: 5_000, content: "too late" },
    ], { status: 504, code: "AI_PROVIDER_TIMEOUT" });

    await t.step(
      "the next successful answer counts as the second message of the day",
      async () => {
        fake.reply({ content: "Energy [1]." });
        const res = await ask(ctx, me, {
          message: "What does glucose store?",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.usage.used, 2);
      },
    );

    await t.step(
      "a retry in the failed session is answered there",
      async () => {
        fake.reply(
          { status: 503, retryAfterMs: 1 },
          { status: 503, retryAfterMs: 1 },
          { status: 503, retryAfterMs: 1 },
        );
        const failed = await ask(ctx, me, {
          message: "Why is oxygen released?",
          programId: program.id,
        });
        assert.equal(failed.status, 502);
        const sessionId = failed.body.error.details.sessionId;
        // The failed answer and the retry must not share a millisecond: see the ignored
        // "within one millisecond" step of the extractive test.
        await nextMillisecond();
        fake.reply({ content: "Water is split [1]." });
        const res = await ask(ctx, me, {
          message: "Why is oxygen released?",
          sessionId,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.sessionId, sessionId);
        assert.equal(res.body.usage.used, 3);
        const shown = await sessionOf(ctx, me, sessionId);
        assert.deepEqual(
          shown.body.session.messages.map((
            m: { role: string; status: string },
          ) => [m.role, m.status]),
          [
            ["user", "complete"],
            ["assistant", "failed"],
            ["user", "complete"],
            ["assistant", "complete"],
          ],
        );
      },
    );

    await t.step({
      name:
        "a retry after a failed answer sends the conversation with alternating roles",
      fn: async () => {
        fake.reply(
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
        );
        const failed = await ask(ctx, me, {
          message: "Why do leaves change colour?",
          programId: program.id,
        });
        assert.equal(failed.status, 502);
        fake.reply({ content: "Chlorophyll breaks down [1]." });
        const res = await ask(ctx, me, {
          message: "Why do leaves change colour?",
          sessionId: failed.body.error.details.sessionId,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const roles = (fake.requestsTo("/chat/completions").at(-1)!.body
          .messages as { role: string }[]).map((m) => m.role);
        assert.equal(roles[0], "system");
        roles.slice(1).forEach((role, i) =>
          assert.equal(
            role,
            i % 2 === 0 ? "user" : "assistant",
            `roles alternate: ${roles.join(", ")}`,
          )
        );
        assert.equal(roles.at(-1), "user");
      },
    });
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor moderation: flagged input is 422 CONTENT_FLAGGED, never sent, stored or counted", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext({ ...fake.env, AI_MODERATION: "on" });
  try {
    const owner = await learner(ctx, "instructor");
    const { program } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);
    let sessionId = "";

    await t.step(
      "clean input passes moderation, then is answered",
      async () => {
        fake.reply({ flagged: false }, { content: "Sunlight [1]." });
        const res = await ask(ctx, me, {
          message: PHOTO_QUESTION,
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.usage.used, 1);
        sessionId = res.body.sessionId;
        assert.deepEqual(fake.requests.map((r) => r.path), [
          "/v1/moderations",
          "/v1/chat/completions",
        ]);
        assert.equal(fake.requests[0]!.body.input, PHOTO_QUESTION);
      },
    );

    await t.step("flagged input in a new conversation", async () => {
      fake.reply({ flagged: true });
      const callsBefore = fake.requestsTo("/chat/completions").length;
      const res = await ask(ctx, me, {
        message: "something awful",
        programId: program.id,
      });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, "CONTENT_FLAGGED");
      assert.equal(
        fake.requestsTo("/moderations").at(-1)!.body.input,
        "something awful",
      );
      assert.equal(fake.requestsTo("/chat/completions").length, callsBefore);
      const list = await sessionsOf(ctx, me);
      assert.equal(list.body.sessions.length, 1, "no session was made");
      assert.ok(
        !(await storedMessages(ctx, me.user.id)).some((r) =>
          r.message.content === "something awful"
        ),
      );
      assert.equal(await usageRow(ctx, me.user.id), 1, "not counted");
    });

    await t.step("flagged input in an existing session", async () => {
      fake.reply({ flagged: true });
      const callsBefore = fake.requestsTo("/chat/completions").length;
      const res = await ask(ctx, me, {
        message: "more awful things",
        sessionId,
      });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, "CONTENT_FLAGGED");
      assert.equal(fake.requestsTo("/chat/completions").length, callsBefore);
      const shown = await sessionOf(ctx, me, sessionId);
      assert.equal(shown.body.session.messages.length, 2);
      assert.equal(shown.body.session.messageCount, 2);
    });

    await t.step("the next clean message is the second counted", async () => {
      fake.reply({ flagged: false }, { content: "Oxygen [1]." });
      const res = await ask(ctx, me, {
        message: "What gas is released?",
        sessionId,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.usage.used, 2);
      const sent = fake.requestsTo("/chat/completions").at(-1)!;
      assert.ok(
        !JSON.stringify(sent.body.messages).includes("awful"),
        "flagged text never reaches the chat model, not even as history",
      );
    });

    await t.step(
      "a moderation endpoint failure is a provider error, nothing stored",
      async () => {
        fake.reply(
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
          { status: 500, retryAfterMs: 1 },
        );
        const res = await ask(ctx, me, {
          message: "Is moderation down?",
          programId: program.id,
        });
        assert.equal(res.status, 502);
        assert.equal(res.body.error.code, "AI_PROVIDER_ERROR");
        assert.equal((await sessionsOf(ctx, me)).body.sessions.length, 1);
        assert.equal(await usageRow(ctx, me.user.id), 2);
      },
    );
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor quota: per-plan daily messages, exact under concurrency", async (t) => {
  // No provider: extractive answers count like provider answers, and need no network.
  const ctx = await createTestContext();
  try {
    const owner = await learner(ctx, "instructor");
    const { program } = await tutorProgram(ctx, owner.user);

    await t.step(
      "a free learner: 10 messages pass, the 11th is 429 AI_DAILY_LIMIT",
      async () => {
        const me = await student(ctx, program.id);
        let sessionId: string | undefined;
        for (let i = 1; i <= 10; i++) {
          const res = await ask(ctx, me, {
            message: `Question ${i} about chlorophyll`,
            ...(sessionId ? { sessionId } : { programId: program.id }),
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.usage.used, i);
          assert.equal(res.body.usage.limit, 10);
          sessionId = res.body.sessionId;
        }
        const before = new Date();
        const res = await ask(ctx, me, {
          message: "Question 11 about chlorophyll",
          sessionId,
        });
        const after = new Date();
        assert.equal(res.status, 429);
        assert.equal(res.body.error.code, "AI_DAILY_LIMIT");
        assert.ok(
          [nextMidnight(before), nextMidnight(after)].includes(
            res.body.error.details.resetAt,
          ),
          res.body.error.details.resetAt,
        );
        assert.equal(
          res.body.error.details.upgradeUrl,
          "/api/subscriptions/plans",
        );
        assert.equal(res.body.error.details.limit, 10);
        const retryAfter = Number(res.headers.get("retry-after"));
        assert.ok(retryAfter >= 1 && retryAfter <= 86_400, String(retryAfter));
        assert.equal(res.body.error.details.retryAfter, retryAfter);
        const shown = await sessionOf(ctx, me, sessionId!);
        assert.equal(
          shown.body.session.messages.length,
          20,
          "the 11th is not stored",
        );
        assert.equal(await usageRow(ctx, me.user.id), 10);
      },
    );

    await t.step(
      "15 concurrent requests from a fresh free learner: exactly 10 pass",
      async () => {
        const me = await student(ctx, program.id);
        const responses = await Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            ask(ctx, me, {
              message: `Concurrent question ${i} about glucose`,
              programId: program.id,
            })),
        );
        const statuses = responses.map((r) => r.status);
        assert.equal(
          statuses.filter((s) => s === 200).length,
          10,
          JSON.stringify(statuses),
        );
        assert.equal(statuses.filter((s) => s === 429).length, 5);
        for (const r of responses.filter((r) => r.status === 429)) {
          assert.equal(r.body.error.code, "AI_DAILY_LIMIT");
        }
        assert.deepEqual(
          responses.filter((r) => r.status === 200).map((r) =>
            r.body.usage.used
          ).sort((a, b) => a - b),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        );
        assert.equal(await usageRow(ctx, me.user.id), 10);
        const sessions = await ctx.deps.db.select().from(chatSessions).where(
          eq(chatSessions.userId, me.user.id),
        );
        assert.equal(sessions.length, 10, "refused requests leave nothing");
      },
    );

    await t.step("a premium learner is not limited", async () => {
      const me = await learner(ctx);
      await setSubscriptionByAdmin(
        ctx.deps,
        ADMIN_ACTOR,
        me.user.id,
        "premium",
        new Date(Date.now() + 30 * 86_400_000),
      );
      for (let i = 1; i <= 12; i++) {
        const res = await ask(ctx, me, {
          message: `Premium question ${i} about oxygen`,
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.usage.limit, -1);
        assert.equal(res.body.usage.used, i);
      }
    });

    await t.step(
      "a basic learner gets 100 a day (counted from the plan)",
      async () => {
        const me = await learner(ctx);
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          me.user.id,
          "basic",
          new Date(Date.now() + 30 * 86_400_000),
        );
        const res = await ask(ctx, me, {
          message: "Basic question about oxygen",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(
          [res.body.usage.used, res.body.usage.limit],
          [1, 100],
        );
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("tutor cache: an identical first question is answered once by the provider", async (t) => {
  const fake = startFakeOpenAi();
  const ctx = await createTestContext(fake.env);
  try {
    const owner = await learner(ctx, "instructor");
    const { program, lessonIds } = await tutorProgram(ctx, owner.user);
    const first = await student(ctx, program.id);
    const second = await student(ctx, program.id);
    const answer = "Chlorophyll captures sunlight [1] to make glucose.";
    const chatCalls = () => fake.requestsTo("/chat/completions").length;
    let secondSession = "";

    await t.step(
      "the first learner's answer comes from the provider",
      async () => {
        fake.reply({ content: answer });
        const res = await ask(ctx, first, {
          message: PHOTO_QUESTION,
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.mode, "ai");
        assert.equal(chatCalls(), 1);
      },
    );

    await t.step(
      "the second learner's identical question comes from the cache, uncounted",
      async () => {
        const res = await ask(ctx, second, {
          message: PHOTO_QUESTION,
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.mode, "cache");
        assert.equal(res.body.response, answer);
        assert.deepEqual(res.body.citations, [{
          lessonId: lessonIds[0],
          title: "Photosynthesis",
          link: lessonLink(program.id, lessonIds[0]!),
        }]);
        assert.equal(chatCalls(), 1, "the provider saw one call");
        assert.equal(res.body.usage.used, 0);
        assert.equal(await usageRow(ctx, second.user.id), 0);
        secondSession = res.body.sessionId;
        const shown = await sessionOf(ctx, second, secondSession);
        assert.deepEqual(
          shown.body.session.messages.map((
            m: { role: string; mode: string | null; content: string },
          ) => [m.role, m.mode]),
          [["user", null], ["assistant", "cache"]],
        );
        assert.equal(shown.body.session.messages[1].content, answer);
        const [entry] = await ctx.deps.db.select().from(aiAnswerCache);
        assert.equal(entry!.hits, 1);
        const days = (entry!.expiresAt.getTime() - entry!.createdAt.getTime()) /
          86_400_000;
        assert.equal(days, 7);
      },
    );

    await t.step(
      "case and spacing do not matter; the asker's own repeat is also a hit",
      async () => {
        const res = await ask(ctx, first, {
          message: "  how does CHLOROPHYLL   help plants make glucose? ",
          programId: program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.mode, "cache");
        assert.equal(res.body.usage.used, 1);
        assert.equal(chatCalls(), 1);
      },
    );

    await t.step(
      "a follow-up in a session is never served from the cache",
      async () => {
        fake.reply({ content: "Let me say it differently [1]." });
        const res = await ask(ctx, second, {
          message: PHOTO_QUESTION,
          sessionId: secondSession,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.mode, "ai");
        assert.equal(res.body.response, "Let me say it differently [1].");
        assert.equal(chatCalls(), 2);
        assert.equal(res.body.usage.used, 1, "a provider answer counts");
        const sent = fake.requestsTo("/chat/completions").at(-1)!;
        const messages = sent.body.messages as {
          role: string;
          content: string;
        }[];
        assert.deepEqual(
          messages.slice(1).map((m) => [m.role, m.content]),
          [
            ["user", PHOTO_QUESTION],
            ["assistant", answer],
            ["user", PHOTO_QUESTION],
          ],
        );
        const [entry] = await ctx.deps.db.select().from(aiAnswerCache);
        assert.equal(entry!.answer, answer, "the follow-up did not replace it");
      },
    );

    await t.step(
      "the same question about another program is not a hit",
      async () => {
        const other = await tutorProgram(ctx, owner.user, [PHOTOSYNTHESIS]);
        await enroll(ctx, second.user.id, other.program.id, "chatbot");
        fake.reply({ content: "Another program's answer [1]." });
        const res = await ask(ctx, second, {
          message: PHOTO_QUESTION,
          programId: other.program.id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.mode, "ai");
        assert.equal(chatCalls(), 3);
      },
    );

    await t.step("a failed answer is not cached", async () => {
      const question = "Where does the oxygen come from?";
      fake.reply(
        { status: 500, retryAfterMs: 1 },
        { status: 500, retryAfterMs: 1 },
        { status: 500, retryAfterMs: 1 },
      );
      const failed = await ask(ctx, first, {
        message: question,
        programId: program.id,
      });
      assert.equal(failed.status, 502);
      fake.reply({ content: "From water [1]." });
      const res = await ask(ctx, second, {
        message: question,
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.mode, "ai");
    });
  } finally {
    await ctx.close();
    await fake.close();
  }
});

Deno.test("tutor without a provider: extractive answers from the lessons", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await learner(ctx, "instructor");
    const { program, lessonIds } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);

    await t.step("the matching passage, labelled, with citations", async () => {
      const res = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.mode, "extractive");
      assert.match(res.body.response, /No AI provider is configured/);
      assert.ok(res.body.response.includes(PHOTOSYNTHESIS_PASSAGE));
      assert.ok(!res.body.response.includes(REVOLUTION_PASSAGE));
      assert.deepEqual(res.body.citations, [{
        lessonId: lessonIds[0],
        title: "Photosynthesis",
        link: lessonLink(program.id, lessonIds[0]!),
      }]);
      assert.equal(res.body.usage.used, 1, "extractive answers count");
      const shown = await sessionOf(ctx, me, res.body.sessionId);
      assert.equal(shown.body.session.messages[1].content, res.body.response);
      assert.equal(shown.body.session.messages[1].mode, "extractive");
    });

    await t.step("a question matching nothing says so", async () => {
      const res = await ask(ctx, me, {
        message: "Explain quantum chromodynamics",
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.mode, "extractive");
      assert.match(res.body.response, /No AI provider is configured/);
      assert.match(res.body.response, /no lesson matches your question/);
      assert.deepEqual(res.body.citations, []);
    });

    await t.step("a question of stopwords only matches nothing", async () => {
      const res = await ask(ctx, me, {
        message: "What is it?",
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.response, /no lesson matches your question/);
    });

    await t.step("FTS syntax in the question is harmless", async () => {
      const res = await ask(ctx, me, {
        message: 'Bastille" OR NEAR(x y) * AND -"',
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.citations.map((c: { lessonId: string }) => c.lessonId),
        [lessonIds[1]],
      );
    });

    await t.step({
      name:
        "a question typed without accents finds a lesson written with them, and the reverse",
      fn: async () => {
        const french = await tutorProgram(ctx, owner.user, [{
          title: "La Révolution française",
          content:
            "La prise de la Bastille, en 1789, marque le début de la Révolution.",
        }, {
          title: "Cafe culture",
          content: "Enlightenment ideas spread in the cafes of Paris.",
        }]);
        await enroll(ctx, me.user.id, french.program.id, "chatbot");
        const plain = await ask(ctx, me, {
          message: "revolution francaise",
          programId: french.program.id,
        });
        const accented = await ask(ctx, me, {
          message: "Parlez-moi des cafés",
          programId: french.program.id,
        });
        const cited = (res: typeof plain) =>
          res.body.citations.map((c: { lessonId: string }) => c.lessonId);
        assert.deepEqual([cited(plain), cited(accented)], [
          [french.lessonIds[0]],
          [french.lessonIds[1]],
        ]);
      },
    });

    await t.step({
      name:
        "a session lists its messages in the order they were written, even within one millisecond",
      fn: async () => {
        const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
        try {
          const first = await ask(ctx, me, {
            message: "Frozen clock question one about glucose",
            programId: program.id,
          });
          assert.equal(first.status, 200, JSON.stringify(first.body));
          const second = await ask(ctx, me, {
            message: "Frozen clock question two about the Bastille",
            sessionId: first.body.sessionId,
          });
          assert.equal(second.status, 200, JSON.stringify(second.body));
          const shown = await sessionOf(ctx, me, first.body.sessionId);
          assert.deepEqual(
            shown.body.session.messages.map((
              m: { role: string; id: string; content: string },
            ) => m.role === "user" ? m.content : m.id),
            [
              "Frozen clock question one about glucose",
              first.body.messageId,
              "Frozen clock question two about the Bastille",
              second.body.messageId,
            ],
          );
        } finally {
          clock.uninstall();
        }
      },
    });

    await t.step("streaming works without a provider", async () => {
      const res = await ask(ctx, me, {
        message: "When was the Bastille stormed?",
        programId: program.id,
      }, { Accept: "text/event-stream" });
      const events = parseSse(res.body);
      assert.deepEqual(events.map((e) => e.event), ["token", "done"]);
      assert.ok(events[0]!.data.text.includes(REVOLUTION_PASSAGE));
      assert.equal(events[1]!.data.mode, "extractive");
    });

    await t.step("extractive answers are not cached", async () => {
      const rows = await ctx.deps.db.select().from(aiAnswerCache);
      assert.equal(rows.length, 0);
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("tutor access: chatbot access, sign-in, own sessions only, validation", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await learner(ctx, "instructor");
    const { program } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);
    const other = await student(ctx, program.id);
    const mine = await ask(ctx, me, {
      message: PHOTO_QUESTION,
      programId: program.id,
    });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const sessionId = mine.body.sessionId;

    await t.step("without chatbot access: 402 PAYMENT_REQUIRED", async () => {
      const stranger = await learner(ctx);
      const res = await ask(ctx, stranger, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res.status, 402);
      assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
      assert.equal(res.body.error.details.feature, "chatbot");
      assert.equal(
        res.body.error.details.upgradeUrl,
        "/api/subscriptions/plans",
      );

      const docsOnly = await learner(ctx);
      await enroll(ctx, docsOnly.user.id, program.id, "documentation");
      const res2 = await ask(ctx, docsOnly, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res2.status, 402);

      const noProgram = await ask(ctx, stranger, { message: PHOTO_QUESTION });
      assert.equal(noProgram.status, 402);
      assert.equal(noProgram.body.error.code, "PAYMENT_REQUIRED");
      assert.equal(await usageRow(ctx, stranger.user.id), 0);
      assert.equal((await sessionsOf(ctx, stranger)).body.sessions.length, 0);
    });

    await t.step(
      "losing chatbot access closes an existing session too: 402",
      async () => {
        const leaving = await student(ctx, program.id);
        const first = await ask(ctx, leaving, {
          message: PHOTO_QUESTION,
          programId: program.id,
        });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        await endAccess(ctx, leaving.user.id, program.id);
        const res = await ask(ctx, leaving, {
          message: "And then?",
          sessionId: first.body.sessionId,
        });
        assert.equal(res.status, 402);
        assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
        const shown = await sessionOf(ctx, leaving, first.body.sessionId);
        assert.equal(shown.status, 200, "the history stays readable");
        assert.equal(shown.body.session.messages.length, 2);
      },
    );

    await t.step("the program's owner may use its tutor", async () => {
      const res = await ask(ctx, owner, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });

    await t.step("an unknown or draft program is 404", async () => {
      const res = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        programId: "no-such-program",
      });
      assert.equal(res.status, 404);
      const draft = await tutorProgram(ctx, owner.user, [PHOTOSYNTHESIS], {
        status: "draft",
      });
      const res2 = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        programId: draft.program.id,
      });
      assert.equal(res2.status, 404);
    });

    await t.step("no token: 401 everywhere", async () => {
      const res = await ask(ctx, undefined, {
        message: PHOTO_QUESTION,
        programId: program.id,
      });
      assert.equal(res.status, 401);
      for (
        const [method, path] of [
          ["GET", "/api/ai/chat/sessions"],
          ["GET", `/api/ai/chat/sessions/${sessionId}`],
          ["DELETE", `/api/ai/chat/sessions/${sessionId}`],
          ["POST", `/api/ai/chat/messages/${mine.body.messageId}/feedback`],
        ] as const
      ) {
        const r = await api(ctx, method, path, {
          ...(method === "POST" ? { body: { rating: "up" } } : {}),
        });
        assert.equal(r.status, 401, `${method} ${path}`);
      }
    });

    await t.step("someone else's session is 404", async () => {
      const get = await sessionOf(ctx, other, sessionId);
      assert.equal(get.status, 404);
      const del = await api(
        ctx,
        "DELETE",
        `/api/ai/chat/sessions/${sessionId}`,
        {
          token: other.token,
        },
      );
      assert.equal(del.status, 404);
      const post = await ask(ctx, other, {
        message: "Can I write in your session?",
        sessionId,
      });
      assert.equal(post.status, 404);
      assert.equal(await usageRow(ctx, other.user.id), 0);
      const shown = await sessionOf(ctx, me, sessionId);
      assert.equal(shown.status, 200, "still there for its owner");
      assert.equal(shown.body.session.messages.length, 2);
      const list = await sessionsOf(ctx, other);
      assert.equal(list.body.sessions.length, 0);
    });

    await t.step("an unknown session is 404", async () => {
      const res = await ask(ctx, me, {
        message: PHOTO_QUESTION,
        sessionId: "no-such-session",
      });
      assert.equal(res.status, 404);
      assert.equal(
        (await sessionOf(ctx, me, "no-such-session")).status,
        404,
      );
    });

    await t.step(
      "deleting my session removes it and its messages",
      async () => {
        const del = await api(
          ctx,
          "DELETE",
          `/api/ai/chat/sessions/${sessionId}`,
          {
            token: me.token,
          },
        );
        assert.equal(del.status, 200);
        assert.equal(del.body.success, true);
        assert.equal((await sessionOf(ctx, me, sessionId)).status, 404);
        const again = await api(
          ctx,
          "DELETE",
          `/api/ai/chat/sessions/${sessionId}`,
          {
            token: me.token,
          },
        );
        assert.equal(again.status, 404);
        assert.equal((await sessionsOf(ctx, me)).body.sessions.length, 0);
        const left = await ctx.deps.db.select().from(chatMessages).where(
          eq(chatMessages.sessionId, sessionId),
        );
        assert.equal(left.length, 0);
        const continued = await ask(ctx, me, {
          message: "Carry on",
          sessionId,
        });
        assert.equal(continued.status, 404);
      },
    );

    await t.step("message validation: 422", async () => {
      const cases: [string, unknown][] = [
        ["empty", { message: "", programId: program.id }],
        ["blank", { message: "   \n\t ", programId: program.id }],
        ["missing", { programId: program.id }],
        ["not a string", { message: 42, programId: program.id }],
        ["too long", { message: "a".repeat(4001), programId: program.id }],
        ["unknown field", {
          message: "hi there",
          programId: program.id,
          model: "gpt-5",
        }],
      ];
      for (const [label, body] of cases) {
        const res = await api(ctx, "POST", "/api/ai/chat", {
          token: me.token,
          body,
        });
        assert.equal(res.status, 422, `${label}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, "VALIDATION_FAILED", label);
      }
      const longest = await ask(ctx, me, {
        message: `${"glucose ".repeat(499)}glucose!`,
        programId: program.id,
      });
      assert.equal(longest.status, 200, "4,000 characters are accepted");
      const sessions = await ctx.deps.db.select().from(chatSessions).where(
        eq(chatSessions.id, longest.body.sessionId),
      );
      assert.ok(sessions[0]!.title.length <= 81);
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("tutor feedback: up or down on my answers", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await learner(ctx, "instructor");
    const { program } = await tutorProgram(ctx, owner.user);
    const me = await student(ctx, program.id);
    const other = await student(ctx, program.id);
    const res = await ask(ctx, me, {
      message: PHOTO_QUESTION,
      programId: program.id,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { sessionId, messageId } = res.body;
    const rate = (who: Learner, id: string, body: unknown) =>
      api(ctx, "POST", `/api/ai/chat/messages/${id}/feedback`, {
        token: who.token,
        body,
      });

    await t.step("rating an answer is saved and shown", async () => {
      const rated = await rate(me, messageId, {
        rating: "up",
        comment: "Clear, thanks",
      });
      assert.equal(rated.status, 200, JSON.stringify(rated.body));
      assert.deepEqual(rated.body.feedback, {
        messageId,
        rating: "up",
        comment: "Clear, thanks",
      });
      const shown = await sessionOf(ctx, me, sessionId);
      const answer = shown.body.session.messages.find((m: { id: string }) =>
        m.id === messageId
      );
      assert.equal(answer.rating, "up");
      const [row] = await ctx.deps.db.select().from(chatMessages).where(
        eq(chatMessages.id, messageId),
      );
      assert.equal(row!.feedbackComment, "Clear, thanks");
      assert.ok(row!.feedbackAt instanceof Date);
    });

    await t.step("rating again replaces it", async () => {
      const rated = await rate(me, messageId, { rating: "down" });
      assert.equal(rated.status, 200);
      assert.deepEqual(rated.body.feedback, {
        messageId,
        rating: "down",
        comment: null,
      });
      const shown = await sessionOf(ctx, me, sessionId);
      assert.equal(shown.body.session.messages[1].rating, "down");
    });

    await t.step(
      "my own question, someone else's answer, or no answer: 404",
      async () => {
        const shown = await sessionOf(ctx, me, sessionId);
        const question = shown.body.session.messages[0];
        assert.equal(question.role, "user");
        assert.equal(
          (await rate(me, question.id, { rating: "up" })).status,
          404,
        );
        assert.equal(
          (await rate(other, messageId, { rating: "up" })).status,
          404,
        );
        assert.equal(
          (await rate(me, "no-such-message", { rating: "up" })).status,
          404,
        );
        const after = await sessionOf(ctx, me, sessionId);
        assert.equal(
          after.body.session.messages[1].rating,
          "down",
          "unchanged",
        );
      },
    );

    await t.step("invalid feedback: 422", async () => {
      for (
        const body of [
          { rating: "meh" },
          {},
          { rating: "up", comment: "x".repeat(2001) },
          { rating: "up", stars: 5 },
        ]
      ) {
        const r = await rate(me, messageId, body);
        assert.equal(r.status, 422, JSON.stringify(body));
        assert.equal(r.body.error.code, "VALIDATION_FAILED");
      }
    });
  } finally {
    await ctx.close();
  }
});
