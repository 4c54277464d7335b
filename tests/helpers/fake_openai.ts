/**
 * A small OpenAI-compatible API for tests: the real `openai` SDK talks to it through
 * OPENAI_BASE_URL. Replies are queued per test; every request is recorded. A chat completion asked
 * for with `stream: true` answers as OpenAI does: server-sent `chat.completion.chunk` events, then
 * `data: [DONE]`.
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
  /** Streamed answers: the pieces to send, in order (default: `content` cut into a few pieces). */
  chunks?: string[];
  /** With `status`: a `retry-after-ms` header, so the SDK's retries need not wait long. */
  retryAfterMs?: number;
}

/** The reply cut into up to `pieces` parts at word starts; joined, they give the reply back. */
export function splitReply(content: string, pieces = 4): string[] {
  const words = content.match(/\S+\s*|\s+/g) ?? [];
  if (words.length === 0) return [];
  const per = Math.ceil(words.length / pieces);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += per) {
    out.push(words.slice(i, i + per).join(""));
  }
  return out;
}

const encoder = new TextEncoder();

/** An OpenAI-style stream: one chunk per piece (the first with the role), a final chunk, [DONE]. */
function streamedCompletion(id: string, model: string, pieces: string[]) {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null,
  ) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const events = [
    ...pieces.map((content, i) =>
      chunk(i === 0 ? { role: "assistant", content } : { content }, null)
    ),
    chunk({}, "stop"),
  ].map((event) => `data: ${JSON.stringify(event)}\n\n`);
  events.push("data: [DONE]\n\n");
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const event of events) controller.enqueue(encoder.encode(event));
      controller.close();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    },
  });
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
  /** Replies waiting out their delay: close() lets them go. */
  const pending = new Set<() => void>();

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
      // close() ends the wait early, so a test need not outlast a long delay.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          pending.delete(done);
          resolve();
        };
        const timer = setTimeout(done, reply.delayMs);
        pending.add(done);
      });
    }
    if (reply.status) {
      return Response.json({
        error: { message: "fake provider failure", type: "server_error" },
      }, {
        status: reply.status,
        ...(reply.retryAfterMs !== undefined
          ? { headers: { "retry-after-ms": String(reply.retryAfterMs) } }
          : {}),
      });
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
      if (body.stream === true) {
        return streamedCompletion(
          `chatcmpl-${served}`,
          String(body.model ?? "fake-model"),
          reply.chunks ?? splitReply(content),
        );
      }
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
    /** The recorded requests to one endpoint, e.g. "/chat/completions". */
    requestsTo(endpoint: string) {
      return requests.filter((r) => r.path.endsWith(endpoint));
    },
    /** Queue the next replies, in order. */
    reply(...next: FakeReply[]) {
      replies.push(...next);
    },
    async close() {
      for (const done of [...pending]) done();
      await server.shutdown();
    },
  };
}

export type FakeOpenAi = ReturnType<typeof startFakeOpenAi>;
