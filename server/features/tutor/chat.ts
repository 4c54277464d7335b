import { and, desc, eq, gt, lt, ne, sql } from "drizzle-orm";
import { recordEvent } from "../events/record.ts";
import type OpenAI from "openai";
import {
  aiAnswerCache,
  type AnswerMode,
  type ChatMessage,
  chatMessages,
  type ChatSession,
  chatSessions,
  type Citation,
  enrollments,
  type Program,
  programs,
  type User,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { aiFailure } from "../../lib/ai.ts";
import { AppError, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { sha256Hex } from "../../lib/storage.ts";
import { paymentRequiredFor, UPGRADE_URL } from "../access/errors.ts";
import { canUseFeature } from "../access/service.ts";
import { getVisibleProgram, isVisibleTo } from "../programs/service.ts";
import { currentTier } from "../subscriptions/current.ts";
import { PLANS, UNLIMITED } from "../subscriptions/plans.ts";
import { findPassages, type Passage } from "./grounding.ts";
import {
  citationsFor,
  extractiveAnswer,
  HISTORY_MESSAGES,
  learnerContext,
  systemPrompt,
  titleFrom,
} from "./prompt.ts";
import {
  consumeMessage,
  refundMessage,
  type Usage,
  usageToday,
} from "./quota.ts";

type ChatDeps = Pick<Deps, "db" | "config" | "ai" | "logger">;
type Learner = Pick<User, "id" | "role">;

/** 002 section 6: identical first questions in the same lesson context are answered from here. */
export const ANSWER_CACHE_DAYS = 7;

export interface ChatInput {
  message: string;
  programId?: string | undefined;
  sessionId?: string | undefined;
}

/** Everything checked and stored before the answer is made: what the answer step needs. */
export interface PreparedChat {
  learner: Learner;
  session: ChatSession;
  userMessage: ChatMessage;
  program: Program | undefined;
  passages: Passage[];
  history: { role: "user" | "assistant"; content: string }[];
  system: string;
  maxTokens: number;
  usage: Usage;
  /** When the message was counted against the quota (not for a cached answer). */
  countedAt: Date | undefined;
  cached: { answer: string; citations: Citation[] } | undefined;
  cacheKey: string | undefined;
}

export interface ChatAnswer {
  response: string;
  sessionId: string;
  messageId: string;
  userMessageId: string;
  timestamp: string;
  citations: Citation[];
  mode: AnswerMode;
  usage: Usage;
}

async function ownSession(deps: ChatDeps, learner: Learner, id: string) {
  const [session] = await deps.db.select().from(chatSessions).where(and(
    eq(chatSessions.id, id),
    eq(chatSessions.userId, learner.id),
  ));
  if (!session) throw notFound("Chat session");
  return session;
}

/** The programs the learner studies with tutor access: what a question without a program searches. */
async function tutoredPrograms(
  deps: ChatDeps,
  learner: Learner,
): Promise<string[]> {
  const rows = await deps.db.select({ program: programs }).from(enrollments)
    .innerJoin(programs, eq(programs.id, enrollments.programId))
    .where(and(
      eq(enrollments.userId, learner.id),
      ne(enrollments.status, "dropped"),
    ));
  const allowed: string[] = [];
  for (const { program } of rows) {
    // A program unpublished or deleted since enrolling is no longer the learner's to read.
    if (!isVisibleTo(learner, program)) continue;
    if (await canUseFeature(deps, learner, program, "chatbot")) {
      allowed.push(program.id);
    }
  }
  return allowed;
}

/**
 * The last messages of a session as the provider should see them: each question with its answer,
 * in order. A question whose answer failed is left out (it is being asked again), so roles always
 * alternate, which some chat templates (Mistral, Llama) require.
 */
async function historyOf(deps: ChatDeps, sessionId: string) {
  const recent = (await deps.db.select({
    role: chatMessages.role,
    content: chatMessages.content,
    status: chatMessages.status,
  }).from(chatMessages).where(eq(chatMessages.sessionId, sessionId))
    // rowid: insertion order, which a shared millisecond cannot blur.
    .orderBy(desc(chatMessages.createdAt), desc(sql`rowid`))
    .limit(HISTORY_MESSAGES * 2)).reverse();
  const pairs: { role: "user" | "assistant"; content: string }[] = [];
  for (let i = 0; i + 1 < recent.length; i++) {
    const question = recent[i]!;
    const answer = recent[i + 1]!;
    if (
      question.role === "user" && answer.role === "assistant" &&
      answer.status === "complete"
    ) {
      pairs.push(
        { role: "user", content: question.content },
        { role: "assistant", content: answer.content },
      );
      i++;
    }
  }
  return pairs.slice(-HISTORY_MESSAGES);
}

/** Characters of a lesson a learner without `documentation` access may see through the tutor. */
export const SNIPPET_CHARS = 240;

const snippet = (text: string) => {
  if (text.length <= SNIPPET_CHARS) return text;
  const cut = text.slice(0, SNIPPET_CHARS);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), SNIPPET_CHARS / 2))}…`;
};

/**
 * Lessons are sold as `documentation`; the tutor is `chatbot`. A learner with the tutor but not the
 * lessons gets short snippets, in the prompt and in extractive answers, so asking questions cannot
 * rebuild the paid text.
 */
async function withoutPaidText(
  deps: ChatDeps,
  learner: Learner,
  passages: Passage[],
): Promise<Passage[]> {
  const readable = new Map<string, boolean>();
  for (const programId of new Set(passages.map((p) => p.programId))) {
    const [program] = await deps.db.select().from(programs).where(
      eq(programs.id, programId),
    );
    readable.set(
      programId,
      !!program &&
        await canUseFeature(deps, learner, program, "documentation"),
    );
  }
  return passages.map((p) =>
    readable.get(p.programId)
      ? p
      : { ...p, text: snippet(p.text), excerpt: true }
  );
}

/** The cache key: the program, the lessons the question drew on, and the question as typed. */
const cacheKeyOf = (parts: {
  model: string;
  scope: string;
  passages: Passage[];
  system: string;
  maxTokens: number;
  message: string;
}) =>
  sha256Hex(new TextEncoder().encode(
    [
      parts.model,
      parts.scope,
      [...new Set(parts.passages.map((p) => p.lessonId))].join(","),
      // The whole prompt, learner context included: an answer that speaks of one learner's
      // results is never served to another. Learners at the same point (most first questions
      // come at the start) share it.
      parts.system,
      String(parts.maxTokens),
      parts.message.normalize("NFKC").toLowerCase().replace(/\s+/g, " ")
        .trim(),
    ].join("\n"),
  ));

async function moderate(deps: ChatDeps, message: string): Promise<void> {
  if (!deps.config.ai.moderation || !deps.ai) return;
  let flagged: boolean;
  try {
    const result = await deps.ai.client.moderations.create({ input: message });
    flagged = result.results.some((r) => r.flagged);
  } catch (error) {
    throw aiFailure(error);
  }
  if (flagged) {
    throw new AppError(
      422,
      "CONTENT_FLAGGED",
      "This message was flagged by moderation and was not sent to the tutor",
    );
  }
}

/**
 * Checks access, moderation and the quota, finds the lesson passages, and stores the learner's
 * message (creating the session on a first question) before any answer is attempted: whatever
 * happens to the provider afterwards, what the learner wrote is kept.
 */
export async function prepareChat(
  deps: ChatDeps,
  learner: Learner,
  input: ChatInput,
  now = new Date(),
): Promise<PreparedChat> {
  const existing = input.sessionId
    ? await ownSession(deps, learner, input.sessionId)
    : undefined;
  const programId = input.programId ?? existing?.programId ?? undefined;
  let program: Program | undefined;
  let scope: string[];
  if (programId) {
    program = await getVisibleProgram(deps, learner, programId);
    if (!(await canUseFeature(deps, learner, program, "chatbot"))) {
      throw paymentRequiredFor(program, "chatbot");
    }
    scope = [program.id];
  } else {
    scope = await tutoredPrograms(deps, learner);
    if (scope.length === 0) {
      throw new AppError(
        402,
        "PAYMENT_REQUIRED",
        "The tutor answers about programs you have chatbot access to: enroll in one, or name its programId",
        { feature: "chatbot", upgradeUrl: UPGRADE_URL },
      );
    }
  }
  const tier = await currentTier(deps.db, learner.id, now);
  const limits = PLANS[tier].limits;
  // Over the quota, say so before spending a moderation call (the count itself happens below).
  const today = await usageToday(deps.db, learner.id, limits.aiMessages, now);
  if (limits.aiMessages !== UNLIMITED && today.used >= limits.aiMessages) {
    await consumeMessage(deps.db, learner.id, limits.aiMessages, now);
  }
  await moderate(deps, input.message);

  const passages = await withoutPaidText(
    deps,
    learner,
    await findPassages(deps.db, scope, input.message),
  );
  const history = existing ? await historyOf(deps, existing.id) : [];
  // Only a first question is cached: later ones depend on the conversation before them.
  const system = systemPrompt(
    deps.config.school.name,
    await learnerContext(deps.db, learner.id, program),
    passages,
  );
  const cacheKey = history.length === 0 && deps.ai
    ? await cacheKeyOf({
      model: deps.ai.model,
      scope: program?.id ?? scope.join(","),
      passages,
      system,
      maxTokens: limits.aiTokensPerMessage,
      message: input.message,
    })
    : undefined;
  const [hit] = cacheKey
    ? await deps.db.select().from(aiAnswerCache).where(and(
      eq(aiAnswerCache.key, cacheKey),
      gt(aiAnswerCache.expiresAt, now),
    ))
    : [];
  // A cached answer costs nothing, so it does not count against the quota (README).
  const usage = hit
    ? await usageToday(deps.db, learner.id, limits.aiMessages, now)
    : await consumeMessage(deps.db, learner.id, limits.aiMessages, now);

  const stored = deps.db.transaction(async (tx) => {
    let session = existing;
    if (!session) {
      session = {
        id: newId(),
        userId: learner.id,
        programId: program?.id ?? null,
        title: titleFrom(input.message),
        messageCount: 0,
        lastMessageAt: now,
        createdAt: now,
      };
      await tx.insert(chatSessions).values(session);
    }
    const userMessage: ChatMessage = {
      id: newId(),
      sessionId: session.id,
      role: "user",
      content: input.message,
      status: "complete",
      mode: null,
      citations: [],
      errorCode: null,
      promptTokens: null,
      completionTokens: null,
      rating: null,
      feedbackComment: null,
      feedbackAt: null,
      createdAt: now,
    };
    await tx.insert(chatMessages).values(userMessage);
    await recordEvent(tx, "ai.message", {
      userId: learner.id,
      ...(session.programId ? { programId: session.programId } : {}),
      subjectId: userMessage.id,
    });
    await tx.update(chatSessions).set({
      messageCount: sql`${chatSessions.messageCount} + 1`,
      lastMessageAt: now,
    }).where(eq(chatSessions.id, session.id));
    return { session, userMessage };
  });
  const { session, userMessage } = await stored.catch(async (error) => {
    // Nothing was stored (e.g. the session was deleted meanwhile): the message is given back.
    if (!hit) await refundMessage(deps.db, learner.id, now);
    throw error;
  });

  return {
    learner,
    session,
    userMessage,
    program,
    passages,
    history,
    system,
    maxTokens: limits.aiTokensPerMessage,
    usage,
    countedAt: hit ? undefined : now,
    cached: hit ? { answer: hit.answer, citations: hit.citations } : undefined,
    cacheKey,
  };
}

async function askProvider(
  deps: ChatDeps,
  chat: PreparedChat,
  onToken: ((text: string) => Promise<void>) | undefined,
) {
  const ai = deps.ai!;
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: chat.system },
    ...chat.history,
    { role: "user", content: chat.userMessage.content },
  ];
  if (!onToken) {
    const completion = await ai.client.chat.completions.create({
      model: ai.model,
      messages,
      max_tokens: chat.maxTokens,
      temperature: 0.4,
    });
    return {
      text: completion.choices[0]?.message?.content ?? "",
      promptTokens: completion.usage?.prompt_tokens ?? null,
      completionTokens: completion.usage?.completion_tokens ?? null,
    };
  }
  const stream = await ai.client.chat.completions.create({
    model: ai.model,
    messages,
    max_tokens: chat.maxTokens,
    temperature: 0.4,
    stream: true,
  });
  let text = "";
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      text += delta;
      await onToken(delta);
    }
  }
  return { text, promptTokens: null, completionTokens: null };
}

/**
 * Makes the answer: from the cache, from the provider (streamed through `onToken` when given), or,
 * without a provider, from the lesson passages. A provider failure is recorded as a failed answer
 * and the message given back to the quota; the error says 502 or 504.
 */
export async function answerChat(
  deps: ChatDeps,
  chat: PreparedChat,
  onToken?: (text: string) => Promise<void>,
): Promise<ChatAnswer> {
  const appUrl = deps.config.appUrl;
  let mode: AnswerMode;
  let text: string;
  let citations: Citation[];
  let tokens: { promptTokens: number | null; completionTokens: number | null } =
    { promptTokens: null, completionTokens: null };
  if (chat.cached) {
    mode = "cache";
    text = chat.cached.answer;
    citations = chat.cached.citations;
    await onToken?.(text);
  } else if (deps.ai) {
    try {
      const answer = await askProvider(deps, chat, onToken);
      if (!answer.text.trim()) {
        throw new AppError(
          502,
          "AI_PROVIDER_ERROR",
          "The AI provider returned an empty answer; try again",
        );
      }
      mode = "ai";
      text = answer.text;
      tokens = answer;
      citations = citationsFor(appUrl, text, chat.passages);
    } catch (error) {
      const failure = aiFailure(error);
      deps.logger.warn("AI provider failed", {
        code: failure.code,
        sessionId: chat.session.id,
      });
      await deps.db.transaction(async (tx) => {
        const now = new Date();
        await tx.insert(chatMessages).values({
          id: newId(),
          sessionId: chat.session.id,
          role: "assistant",
          content: "",
          status: "failed",
          mode: "ai",
          citations: [],
          errorCode: failure.code,
          createdAt: now,
        });
        await tx.update(chatSessions).set({
          messageCount: sql`${chatSessions.messageCount} + 1`,
          lastMessageAt: now,
        }).where(eq(chatSessions.id, chat.session.id));
      });
      // Given back on the day it was counted, even if the provider answered after midnight.
      if (chat.countedAt) {
        await refundMessage(deps.db, chat.learner.id, chat.countedAt);
      }
      throw new AppError(failure.status, failure.code, failure.message, {
        ...failure.details,
        sessionId: chat.session.id,
        userMessageId: chat.userMessage.id,
        note: "Your message is saved in the session; send it again to retry.",
      });
    }
  } else {
    mode = "extractive";
    text = extractiveAnswer(chat.passages);
    citations = citationsFor(appUrl, "", chat.passages);
    await onToken?.(text);
  }

  const now = new Date();
  const messageId = newId();
  await deps.db.transaction(async (tx) => {
    await tx.insert(chatMessages).values({
      id: messageId,
      sessionId: chat.session.id,
      role: "assistant",
      content: text,
      status: "complete",
      mode,
      citations,
      errorCode: null,
      ...tokens,
      createdAt: now,
    });
    await tx.update(chatSessions).set({
      messageCount: sql`${chatSessions.messageCount} + 1`,
      lastMessageAt: now,
    }).where(eq(chatSessions.id, chat.session.id));
    if (mode === "ai" && chat.cacheKey && text) {
      await tx.insert(aiAnswerCache).values({
        key: chat.cacheKey,
        programId: chat.program?.id ?? null,
        answer: text,
        citations,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ANSWER_CACHE_DAYS * 86_400_000),
      }).onConflictDoUpdate({
        target: aiAnswerCache.key,
        set: {
          answer: text,
          citations,
          createdAt: now,
          expiresAt: new Date(now.getTime() + ANSWER_CACHE_DAYS * 86_400_000),
        },
      });
    }
    if (mode === "cache" && chat.cacheKey) {
      await tx.update(aiAnswerCache).set({
        hits: sql`${aiAnswerCache.hits} + 1`,
      }).where(eq(aiAnswerCache.key, chat.cacheKey));
    }
  });
  return {
    response: text,
    sessionId: chat.session.id,
    messageId,
    userMessageId: chat.userMessage.id,
    timestamp: now.toISOString(),
    citations,
    mode,
    usage: chat.usage,
  };
}

/** Drops cached answers past their 7 days (the lookup ignores them already; this frees the space). */
export async function pruneAnswerCache(
  deps: Pick<Deps, "db">,
  now = new Date(),
): Promise<void> {
  await deps.db.delete(aiAnswerCache).where(lt(aiAnswerCache.expiresAt, now));
}
