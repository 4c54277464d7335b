/**
 * What the benchmarks share: a real server on a fresh temporary database, autocannon with the
 * figures they print, and process memory readings. For the benchmark scripts only.
 */
import autocannon from "autocannon";

export const ROOT = new URL("..", import.meta.url).pathname;
export const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
export const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? 50);

/** The part of autocannon's result the scripts read (the package ships no types). */
export interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  requests: { total: number; sent: number };
  latency: { p50: number; p99: number };
  statusCodeStats?: Record<string, { count: number }>;
}

export interface RouteResult {
  title: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  total: number;
  seconds: number;
  statusCodes: Record<string, number>;
}

/**
 * Runs autocannon against a full URL (it ignores a `path` option) and sums up the result. The rate
 * is requests over the time from the start to the last response, measured here: autocannon reports
 * whole seconds, and with `amount` it notices the end only at its next one-second tick, so a 3.1 s
 * run of 3,000 requests read as 4 s (750 req/s instead of 970).
 */
export function load(
  title: string,
  url: string,
  options: Record<string, unknown> = {},
): Promise<RouteResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let lastResponse = started;
    const instance = autocannon({
      url,
      duration: SECONDS,
      connections: CONNECTIONS,
      ...options,
    }, (err: Error | null, result: AutocannonResult) => {
      if (err) return reject(err);
      const seconds = (lastResponse - started) / 1000;
      resolve({
        title,
        rps: result.requests.total / seconds,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.non2xx,
        total: result.requests.total,
        seconds,
        statusCodes: Object.fromEntries(
          Object.entries(result.statusCodeStats ?? {}).map((
            [code, stat],
          ) => [code, stat.count]),
        ),
      });
    });
    instance.on("response", () => {
      lastResponse = performance.now();
    });
  });
}

export const rssMb = async (pid: number) => {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
  }).output();
  return Number(new TextDecoder().decode(stdout).trim()) / 1024;
};

export function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The environment the server (and a CLI or seeding process beside it) runs with. */
export function benchEnv(
  dataDir: string,
  port: number,
): Record<string, string> {
  return {
    PORT: String(port),
    DATA_DIR: dataDir,
    LECTERN_ENV: "production",
    JWT_SECRET: "bench-secret-that-is-long-enough-for-hs256",
    AUTH_RATE_LIMIT: "100000000",
    VERIFY_RATE_LIMIT: "100000000",
    LOG_LEVEL: Deno.env.get("BENCH_LOG_LEVEL") ?? "info",
  };
}

export interface BenchServer {
  port: number;
  /** The V8 inspector's port when BENCH_PROFILE is set (see `profileDuring`). */
  inspectPort?: number;
  base: string;
  dataDir: string;
  env: Record<string, string>;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `server/main.ts` on a fresh temporary DATA_DIR (log to /dev/null) and waits for /readyz. */
export async function startServer(): Promise<BenchServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-bench-" });
  const port = freePort();
  const env = benchEnv(dataDir, port);
  const inspectPort = PROFILE_DIR ? freePort() : undefined;
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "server/main.ts",
    ],
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    server.kill("SIGTERM");
    await server.status;
    await Deno.remove(dataDir, { recursive: true });
  };
  try {
    let ready = false;
    for (let i = 0; i < 200 && !ready; i++) {
      try {
        ready = (await fetch(`${base}/readyz`)).ok;
      } catch { /* not listening yet */ }
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready) throw new Error("server did not become ready");
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    base,
    dataDir,
    env,
    pid: server.pid,
    stop,
    ...(inspectPort ? { inspectPort } : {}),
  };
}

/** BENCH_PROFILE=DIR: the measured phase is CPU-profiled in the server, saved as DIR/NAME.cpuprofile. */
export const PROFILE_DIR = Deno.env.get("BENCH_PROFILE");

/**
 * Runs `work` with V8's sampling profiler on in the server (through its inspector, so the server
 * runs unchanged) when BENCH_PROFILE is set; the profile opens in Chrome DevTools.
 */
export async function profileDuring<T>(
  server: BenchServer,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!PROFILE_DIR || !server.inspectPort) return await work();
  const targets = await (await fetch(
    `http://127.0.0.1:${server.inspectPort}/json/list`,
  )).json() as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await send("Profiler.stop") as { profile: unknown };
    await Deno.mkdir(PROFILE_DIR, { recursive: true });
    const path = `${PROFILE_DIR}/${name}.cpuprofile`;
    await Deno.writeTextFile(path, JSON.stringify(profile));
    console.log(`CPU profile of the server: ${path}`);
    socket.close();
  }
}

/** Runs `work` over `items` with at most `limit` of them in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
export const verdict = (met: boolean) => (met ? "met" : "NOT met");
