/**
 * A small OpenAI-compatible API for tests: the real `openai` SDK talks to it through
 * OPENAI_BASE_URL. Replies are queued per test; every request is recorded.
 */
export interface FakeReply {
  /** The assistant's message content. */
  content?: string;
  /** An HTTP error instead of an answer. */
  status?: number;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  /** Moderation: flag the input. */
  flagged?: boolean;
}

export interface RecordedRequest {
  path: string;
  body: Record<string, unknown>;
  authorization: string | null;
}

export function startFakeOpenAi() {
  const requests: RecordedRequest[] = [];
  const replies: FakeReply[] = [];
  let served = 0;
  const pending = new Set<ReturnType<typeof setTimeout>>();

  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const url = new URL(request.url);
    const body = await request.json().catch(() => ({}));
    requests.push({
      path: url.pathname,
      body,
      authorization: request.headers.get("authorization"),
    });
    const reply = replies.shift() ?? { content: "{}" };
    if (reply.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(timer);
          resolve();
        }, reply.delayMs);
        pending.add(timer);
      });
    }
    if (reply.status) {
      return Response.json({
        error: { message: "fake provider failure", type: "server_error" },
      }, { status: reply.status });
    }
    served++;
    if (url.pathname.endsWith("/moderations")) {
      return Response.json({
        id: `modr-${served}`,
        model: "omni-moderation-latest",
        results: [{
          flagged: reply.flagged ?? false,
          categories: {},
          category_scores: {},
        }],
      });
    }
    if (url.pathname.endsWith("/chat/completions")) {
      const content = reply.content ?? "";
      return Response.json({
        id: `chatcmpl-${served}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: String(body.model ?? "fake-model"),
        choices: [{
          index: 0,
          message: { role: "assistant", content },
          finish_reason: "stop",
        }],
        usage: {
          prompt_tokens: 10,
          completion_tokens: Math.ceil(content.length / 4),
          total_tokens: 10 + Math.ceil(content.length / 4),
        },
      });
    }
    return Response.json({ error: { message: "not found" } }, { status: 404 });
  });

  const port = (server.addr as Deno.NetAddr).port;
  const url = `http://127.0.0.1:${port}/v1`;
  return {
    url,
    env: {
      OPENAI_API_KEY: "sk-test-fake",
      OPENAI_BASE_URL: url,
      OPENAI_MODEL: "fake-model",
    },
    requests,
    /** Queue the next replies, in order. */
    reply(...next: FakeReply[]) {
      replies.push(...next);
    },
    async close() {
      for (const timer of pending) clearTimeout(timer);
      await server.shutdown();
    },
  };
}

export type FakeOpenAi = ReturnType<typeof startFakeOpenAi>;
