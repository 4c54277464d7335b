/**
 * The deployment files (litefs.yml, fly.toml, Dockerfile) name the same ports, paths and commands
 * several times over; nothing but this test notices when one of them changes alone. Each check
 * returns the problems it finds, the real files must have none, and every check is shown to fail on
 * a copy of the files with one thing changed.
 */
import assert from "node:assert/strict";
import { createTestContext } from "../helpers/context.ts";
import { loadConfig } from "../../server/env.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, ROOT));

interface Sources {
  litefs: string;
  fly: string;
  dockerfile: string;
  denoJson: string;
}

const SOURCES: Sources = {
  litefs: read("litefs.yml"),
  fly: read("fly.toml"),
  dockerfile: read("Dockerfile"),
  denoJson: read("deno.json"),
};

// ---------------------------------------------------------------------------------------------
// A YAML reader for the subset litefs.yml uses: nested maps, lists of scalars or of maps, quoted
// or bare scalars, comments. Anything else throws rather than being misread.

type Yaml = string | boolean | Yaml[] | { [key: string]: Yaml };
interface Line {
  indent: number;
  text: string;
  number: number;
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      return text.slice(0, i);
    }
  }
  return text;
}

function yamlScalar(raw: string, line: number): string | boolean {
  const text = raw.trim();
  if (text.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) {
      throw new Error(`litefs.yml:${line}: bad string ${text}`);
    }
    return JSON.parse(text);
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) {
      throw new Error(`litefs.yml:${line}: bad string ${text}`);
    }
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[[{&*!|>]/.test(text)) {
    throw new Error(`litefs.yml:${line}: unsupported YAML ${text}`);
  }
  if (text === "true") return true;
  if (text === "false") return false;
  return text;
}

export function parseYaml(source: string): Yaml {
  const lines: Line[] = [];
  source.split("\n").forEach((raw, index) => {
    if (raw.includes("\t")) throw new Error(`litefs.yml:${index + 1}: tab`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === "") return;
    const indent = text.length - text.trimStart().length;
    lines.push({ indent, text: text.trimStart(), number: index + 1 });
  });
  let at = 0;

  function block(indent: number): Yaml {
    const first = lines[at]!;
    return first.text === "-" || first.text.startsWith("- ")
      ? list(indent)
      : map(indent);
  }

  function map(indent: number): Yaml {
    const out: { [key: string]: Yaml } = {};
    while (at < lines.length && lines[at]!.indent >= indent) {
      const line = lines[at]!;
      if (line.indent > indent) {
        throw new Error(`litefs.yml:${line.number}: unexpected indentation`);
      }
      const match = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.text);
      if (!match) throw new Error(`litefs.yml:${line.number}: not a key`);
      const key = match[1]!;
      if (key in out) {
        throw new Error(`litefs.yml:${line.number}: ${key} twice`);
      }
      at++;
      if (match[2] !== undefined && match[2].trim() !== "") {
        out[key] = yamlScalar(match[2], line.number);
      } else if (at < lines.length && lines[at]!.indent > indent) {
        out[key] = block(lines[at]!.indent);
      } else if (
        at < lines.length && lines[at]!.indent === indent &&
        lines[at]!.text.startsWith("-")
      ) {
        out[key] = list(indent); // a list may sit at its key's indentation
      } else {
        out[key] = "";
      }
    }
    return out;
  }

  function list(indent: number): Yaml {
    const out: Yaml[] = [];
    while (
      at < lines.length && lines[at]!.indent === indent &&
      (lines[at]!.text === "-" || lines[at]!.text.startsWith("- "))
    ) {
      const line = lines[at]!;
      const rest = line.text.slice(1).trimStart();
      if (/^[A-Za-z0-9_.-]+:(\s|$)/.test(rest)) {
        // "- key: value": a map whose keys line up with the first one.
        const inner = indent + (line.text.length - rest.length);
        lines[at] = { indent: inner, text: rest, number: line.number };
        out.push(map(inner));
      } else if (rest === "") {
        at++;
        out.push(block(lines[at]!.indent));
      } else {
        at++;
        out.push(yamlScalar(rest, line.number));
      }
    }
    return out;
  }

  const result = map(0);
  if (at !== lines.length) {
    throw new Error(`litefs.yml:${lines[at]!.number}: not read`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// A TOML reader for fly.toml's subset: [tables], [[arrays of tables]], dotted headers, and
// key = "string" | 'string' | number | boolean.

type TomlValue = string | number | boolean | TomlTable | TomlTable[];
interface TomlTable {
  [key: string]: TomlValue;
}

export function parseToml(source: string): TomlTable {
  const root: TomlTable = {};
  let current = root;
  source.split("\n").forEach((raw, index) => {
    const line = stripComment(raw).trim();
    const where = `fly.toml:${index + 1}`;
    if (line === "") return;
    let match: RegExpExecArray | null;
    if ((match = /^\[\[([\w.-]+)\]\]$/.exec(line))) {
      const path = match[1]!.split(".");
      const parent = descend(root, path.slice(0, -1), where);
      const key = path.at(-1)!;
      const array = parent[key] ??= [];
      if (!Array.isArray(array)) {
        throw new Error(`${where}: ${key} is no array`);
      }
      const table: TomlTable = {};
      array.push(table);
      current = table;
    } else if ((match = /^\[([\w.-]+)\]$/.exec(line))) {
      current = descend(root, match[1]!.split("."), where);
    } else if ((match = /^([\w-]+)\s*=\s*(.+)$/.exec(line))) {
      const key = match[1]!;
      if (key in current) throw new Error(`${where}: ${key} twice`);
      current[key] = tomlValue(match[2]!.trim(), where);
    } else {
      throw new Error(`${where}: unsupported TOML: ${line}`);
    }
  });
  return root;
}

function descend(root: TomlTable, path: string[], where: string): TomlTable {
  let table = root;
  for (const key of path) {
    const next: TomlValue = table[key] ??= {};
    if (Array.isArray(next)) table = next.at(-1)!;
    else if (typeof next === "object") table = next;
    else throw new Error(`${where}: ${key} is a value, not a table`);
  }
  return table;
}

function tomlValue(text: string, where: string): TomlValue {
  if (/^"(?:[^"\\]|\\.)*"$/.test(text)) return JSON.parse(text);
  if (/^'[^']*'$/.test(text)) return text.slice(1, -1);
  if (text === "true" || text === "false") return text === "true";
  if (/^[+-]?\d[\d_]*$/.test(text)) return Number(text.replaceAll("_", ""));
  throw new Error(`${where}: unsupported value ${text}`);
}

// ---------------------------------------------------------------------------------------------
// Dockerfile instructions, continuation lines joined and comments dropped.

interface Instruction {
  keyword: string;
  args: string;
}

export function parseDockerfile(source: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    const continued = line.endsWith("\\");
    pending += (pending ? " " : "") +
      (continued ? line.slice(0, -1).trim() : line);
    if (continued) continue;
    const match = /^(\w+)\s+([\s\S]*)$/.exec(pending);
    if (match) out.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
    pending = "";
  }
  return out;
}

/** ENV's `A=1 B=2` pairs (double-quoted values allowed). */
function dockerEnv(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of instructions) {
    if (keyword !== "ENV") continue;
    for (
      const match of args.matchAll(/([A-Za-z_]\w*)=("(?:[^"\\]|\\.)*"|\S*)/g)
    ) {
      const value = match[2]!;
      env[match[1]!] = value.startsWith('"') ? JSON.parse(value) : value;
    }
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// The checks. Each takes the parsed files and returns what is wrong, in words.

interface Parsed {
  litefs: { [key: string]: Yaml };
  fly: TomlTable;
  docker: Instruction[];
  dockerText: string;
  tasks: Record<string, string>;
}

interface Context {
  /** The status a fresh test app answers for GET `path`. */
  get(path: string): Promise<number>;
}

function parse(sources: Sources): Parsed {
  const litefs = parseYaml(sources.litefs);
  if (typeof litefs !== "object" || Array.isArray(litefs)) {
    throw new Error("litefs.yml is not a map");
  }
  return {
    litefs,
    fly: parseToml(sources.fly),
    docker: parseDockerfile(sources.dockerfile),
    dockerText: sources.dockerfile,
    tasks: JSON.parse(sources.denoJson).tasks,
  };
}

/** Follows `path` through nested maps and tables; undefined where it stops. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let here = value;
  for (const key of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<string | number, unknown>)[key];
  }
  return here;
}

const str = (value: unknown) => typeof value === "string" ? value : undefined;
const portOf = (addr: unknown) => {
  const match = /:(\d+)$/.exec(str(addr) ?? "");
  return match ? Number(match[1]) : undefined;
};
/** `inner` is `outer` or a path below it. */
const within = (inner: string, outer: string) =>
  inner === outer || inner.startsWith(outer.replace(/\/+$/, "") + "/");

function flyEnv(p: Parsed): Record<string, string> {
  const env = at(p.fly, "env");
  return env && typeof env === "object" ? env as Record<string, string> : {};
}

interface ExecEntry {
  cmd: string;
  ifCandidate: boolean;
}

function execEntries(p: Parsed): ExecEntry[] {
  const exec = p.litefs.exec;
  if (typeof exec === "string") return [{ cmd: exec, ifCandidate: false }];
  if (!Array.isArray(exec)) return [];
  return exec.map((entry) => ({
    cmd: str(at(entry, "cmd")) ?? "",
    ifCandidate: at(entry, "if-candidate") === true,
  }));
}

const SERVER_ENTRY = /(?:^|\s)server\/main\.ts$/;

/** `deno run` flags before server/main.ts, or undefined when `command` does not start the server. */
function serverFlags(command: string): string[] | undefined {
  const words = command.trim().split(/\s+/);
  if (words.at(-1) !== "server/main.ts") return undefined;
  return words.slice(0, -1).filter((word) => word.startsWith("--")).sort();
}

function passthroughs(p: Parsed): RegExp[] {
  const list = at(p.litefs, "proxy", "passthrough");
  if (!Array.isArray(list)) return [];
  // LiteFS's own rule: `*` is the only wildcard and the pattern spans the whole path.
  return list.map((pattern) =>
    new RegExp(
      "^" +
        String(pattern).split("*").map((part) =>
          part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        ).join(".*") + "$",
    )
  );
}

function checkPaths(p: Parsed): string[] {
  const checks = at(p.fly, "http_service", "checks");
  return Array.isArray(checks)
    ? checks.map((check) => str(at(check, "path")) ?? "")
    : [];
}

interface Check {
  name: string;
  run(p: Parsed, ctx: Context): string[] | Promise<string[]>;
}

const CHECKS: Check[] = [
  {
    name: "fly.toml internal_port is the LiteFS proxy's port",
    run(p) {
      const internal = at(p.fly, "http_service", "internal_port");
      const proxy = portOf(at(p.litefs, "proxy", "addr"));
      if (proxy === undefined) return ["litefs.yml has no proxy.addr port"];
      return internal === proxy
        ? []
        : [`internal_port ${internal} but the proxy listens on ${proxy}`];
    },
  },
  {
    name: "the proxy's target is the server's PORT",
    run(p) {
      const target = str(at(p.litefs, "proxy", "target")) ?? "";
      const problems: string[] = [];
      if (!/^(localhost|127\.0\.0\.1):\d+$/.test(target)) {
        problems.push(`proxy.target ${target} is not a local port`);
      }
      const port = String(portOf(target));
      if (flyEnv(p).PORT !== port) {
        problems.push(`fly.toml PORT ${flyEnv(p).PORT}, proxy target ${port}`);
      }
      if (dockerEnv(p.docker).PORT !== port) {
        problems.push(
          `Dockerfile PORT ${dockerEnv(p.docker).PORT}, proxy target ${port}`,
        );
      }
      if (port === String(portOf(at(p.litefs, "proxy", "addr")))) {
        problems.push("the proxy and the server cannot share a port");
      }
      return problems;
    },
  },
  {
    name: "DATABASE_URL is the proxy's database inside the FUSE mount",
    run(p) {
      const fuse = str(at(p.litefs, "fuse", "dir")) ?? "";
      const db = str(at(p.litefs, "proxy", "db")) ?? "";
      const expected = `file:${fuse.replace(/\/+$/, "")}/${db}`;
      const actual = flyEnv(p).DATABASE_URL;
      const problems = actual === expected
        ? []
        : [`DATABASE_URL ${actual}, expected ${expected}`];
      if (db.includes("/")) {
        problems.push("LiteFS databases sit at the mount's root");
      }
      return problems;
    },
  },
  {
    name: "LITEFS_DIR is the FUSE mount",
    run(p) {
      const fuse = str(at(p.litefs, "fuse", "dir"));
      return flyEnv(p).LITEFS_DIR === fuse
        ? []
        : [`LITEFS_DIR ${flyEnv(p).LITEFS_DIR}, fuse.dir ${fuse}`];
    },
  },
  {
    name:
      "LiteFS data and DATA_DIR live on the volume, apart from each other and the mount",
    run(p) {
      const volume = str(at(p.fly, "mounts", "destination")) ?? "";
      const data = str(at(p.litefs, "data", "dir")) ?? "";
      const fuse = str(at(p.litefs, "fuse", "dir")) ?? "";
      const appDir = flyEnv(p).DATA_DIR ?? "";
      const problems: string[] = [];
      if (!volume) problems.push("fly.toml mounts no volume");
      if (!within(data, volume)) {
        problems.push(`data.dir ${data} is not on ${volume}`);
      }
      if (!within(appDir, volume)) {
        problems.push(`DATA_DIR ${appDir} is not on ${volume}`);
      }
      if (within(appDir, data) || within(data, appDir)) {
        problems.push(`DATA_DIR ${appDir} and data.dir ${data} overlap`);
      }
      if (within(fuse, volume) || within(fuse, data) || within(data, fuse)) {
        problems.push(
          `fuse.dir ${fuse} must be outside the volume and data.dir`,
        );
      }
      if (dockerEnv(p.docker).DATA_DIR !== appDir) {
        problems.push(
          `Dockerfile DATA_DIR ${
            dockerEnv(p.docker).DATA_DIR
          }, fly.toml ${appDir}`,
        );
      }
      return problems;
    },
  },
  {
    name:
      "exec migrates on candidates only, before the server, which comes last",
    run(p) {
      const entries = execEntries(p);
      const migrate = entries.findIndex((e) =>
        e.cmd === "deno task db:migrate"
      );
      const server = entries.findIndex((e) => SERVER_ENTRY.test(e.cmd));
      const problems: string[] = [];
      if (migrate < 0) problems.push("no `deno task db:migrate` in exec");
      else if (!entries[migrate]!.ifCandidate) {
        problems.push("the migration must be if-candidate: true");
      }
      if (server < 0) problems.push("no server/main.ts in exec");
      else {
        if (server !== entries.length - 1) {
          problems.push("the server must be the last exec command");
        }
        if (entries[server]!.ifCandidate) {
          problems.push("the server must run on every machine");
        }
      }
      if (migrate >= 0 && server >= 0 && migrate > server) {
        problems.push("the migration runs after the server");
      }
      if (!/cli\/main\.ts db migrate$/.test(p.tasks["db:migrate"] ?? "")) {
        problems.push(
          "deno.json's db:migrate task does not run `cli/main.ts db migrate`",
        );
      }
      if (at(p.litefs, "lease", "promote") !== true) {
        problems.push(
          "without lease.promote a candidate may migrate as a replica",
        );
      }
      return problems;
    },
  },
  {
    name: "the server starts with the same permissions everywhere",
    run(p) {
      const exec = execEntries(p).find((e) => SERVER_ENTRY.test(e.cmd))?.cmd ??
        "";
      const problems: string[] = [];
      if (!/^deno run /.test(exec)) {
        problems.push(`exec runs the server as: ${exec}`);
      }
      if (exec !== p.tasks.start) {
        problems.push(
          `exec "${exec}" differs from deno.json start "${p.tasks.start}"`,
        );
      }
      const flags = serverFlags(exec)?.join(" ");
      const inDockerfile = [
        ...p.dockerText.matchAll(
          /((?:--allow-[\w-]+(?:=\S+)?\s+)+)server\/main\.ts/g,
        ),
      ].map((match) => serverFlags(`${match[1]}server/main.ts`)!.join(" "));
      if (inDockerfile.length === 0) {
        problems.push("the Dockerfile shows no command for server/main.ts");
      }
      for (const found of inDockerfile) {
        if (found !== flags) {
          problems.push(`Dockerfile: ${found}; litefs.yml: ${flags}`);
        }
      }
      return problems;
    },
  },
  {
    name:
      "the Dockerfile installs a pinned LiteFS and starts `litefs mount` as root",
    run(p) {
      const problems: string[] = [];
      const stages = new Map<string, string>();
      for (const { keyword, args } of p.docker) {
        const match = /^(\S+)\s+AS\s+(\S+)$/i.exec(args);
        if (keyword === "FROM" && match) {
          stages.set(match[2]!.toLowerCase(), match[1]!);
        }
      }
      const copy = p.docker.find(({ keyword, args }) =>
        keyword === "COPY" && /\s\/usr\/local\/bin\/litefs\s*$/.test(args)
      );
      const from = /--from=(\S+)/.exec(copy?.args ?? "")?.[1] ?? "";
      const image = stages.get(from.toLowerCase()) ?? from;
      if (!copy) problems.push("no COPY of /usr/local/bin/litefs");
      else if (!/^(docker\.io\/)?flyio\/litefs:\d+\.\d+\.\d+$/.test(image)) {
        problems.push(
          `litefs comes from ${
            image || "nowhere"
          }, not a pinned flyio/litefs release`,
        );
      }
      if (
        !p.docker.some(({ keyword, args }) =>
          keyword === "COPY" && /^litefs\.yml\s+\/etc\/litefs\.yml$/.test(args)
        )
      ) problems.push("litefs.yml is not copied to /etc/litefs.yml");
      const entrypoint = p.docker.filter((i) => i.keyword === "ENTRYPOINT").at(
        -1,
      );
      let words: unknown;
      try {
        words = JSON.parse(entrypoint?.args ?? "null");
      } catch {
        words = entrypoint?.args.split(/\s+/);
      }
      if (JSON.stringify(words) !== JSON.stringify(["litefs", "mount"])) {
        problems.push(`ENTRYPOINT is ${entrypoint?.args ?? "missing"}`);
      }
      if (p.docker.some((i) => i.keyword === "CMD")) {
        problems.push("a CMD would be passed to `litefs mount` as arguments");
      }
      const user = p.docker.filter((i) => i.keyword === "USER").at(-1)?.args;
      if (user !== undefined && user !== "root" && user !== "0") {
        problems.push(`USER ${user}: mounting FUSE needs root`);
      }
      const installs = p.docker.filter((i) => i.keyword === "RUN").map((i) =>
        i.args
      ).join(" ");
      for (const pkg of ["fuse3", "ca-certificates", "ffmpeg"]) {
        if (
          !new RegExp(`apt-get install[^&;]*\\s${pkg}(\\s|$)`).test(installs)
        ) {
          problems.push(`${pkg} is not installed`);
        }
      }
      return problems;
    },
  },
  {
    name: "the lease: candidates in the primary region, reachable, in Consul",
    run(p) {
      const lease = at(p.litefs, "lease");
      const problems: string[] = [];
      if (at(lease, "type") !== "consul") {
        problems.push("lease.type is not consul");
      }
      if (
        !/^\$\{\s*FLY_REGION\s*==\s*PRIMARY_REGION\s*\}$/.test(
          str(at(lease, "candidate")) ?? "",
        )
      ) {
        problems.push(`lease.candidate is ${at(lease, "candidate")}`);
      }
      if (flyEnv(p).PRIMARY_REGION !== at(p.fly, "primary_region")) {
        problems.push(
          `PRIMARY_REGION ${flyEnv(p).PRIMARY_REGION}, primary_region ${
            at(p.fly, "primary_region")
          }`,
        );
      }
      const advertise = str(at(lease, "advertise-url")) ?? "";
      if (
        !/^http:\/\/\$\{FLY_MACHINE_ID\}\.vm\.\$\{FLY_APP_NAME\}\.internal:\d+$/
          .test(advertise)
      ) {
        problems.push(`advertise-url ${advertise} does not name this machine`);
      }
      const apiPort = portOf(at(p.litefs, "http", "addr") ?? ":20202");
      if (portOf(advertise) !== apiPort) {
        problems.push(
          `advertise-url port ${portOf(advertise)}, LiteFS API on ${apiPort}`,
        );
      }
      if (at(lease, "consul", "url") !== "${FLY_CONSUL_URL}") {
        problems.push("consul.url is not ${FLY_CONSUL_URL}");
      }
      if (
        !(str(at(lease, "consul", "key")) ?? "").includes("${FLY_APP_NAME}")
      ) {
        problems.push("consul.key is not unique to the app");
      }
      return problems;
    },
  },
  {
    name:
      "fly.toml checks the app (200 on a real app) and LiteFS's /litefs/health",
    async run(p, ctx) {
      const paths = checkPaths(p);
      const problems: string[] = [];
      const passthrough = passthroughs(p);
      if (!paths.includes("/healthz")) problems.push("no check on /healthz");
      if (!paths.includes("/litefs/health")) {
        problems.push("no check on /litefs/health");
      }
      for (const path of paths) {
        if (path.startsWith("/litefs/")) {
          if (path !== "/litefs/health") {
            problems.push(`LiteFS serves no ${path}`);
          }
          if (passthrough.some((re) => re.test(path))) {
            problems.push(
              `${path} is a passthrough: the app would answer it, not LiteFS`,
            );
          }
          continue;
        }
        const status = await ctx.get(path);
        if (status !== 200) problems.push(`GET ${path} answers ${status}`);
      }
      return problems;
    },
  },
  {
    name: "every passthrough path is one the app serves",
    async run(p, ctx) {
      const list = at(p.litefs, "proxy", "passthrough");
      const problems: string[] = [];
      for (const pattern of Array.isArray(list) ? list.map(String) : []) {
        if (pattern.includes("*")) continue;
        const status = await ctx.get(pattern);
        if (status !== 200) {
          problems.push(`passthrough ${pattern} answers ${status}`);
        }
      }
      return problems;
    },
  },
  {
    name: "the app accepts fly.toml's environment and finds LiteFS through it",
    run(p) {
      try {
        const config = loadConfig({
          ...flyEnv(p),
          JWT_SECRET: "x".repeat(40),
          APP_URL: "https://school.example",
        });
        const problems: string[] = [];
        if (config.litefsDir !== str(at(p.litefs, "fuse", "dir"))) {
          problems.push(`the app reads LITEFS_DIR as ${config.litefsDir}`);
        }
        if (config.env !== "production") {
          problems.push(`LECTERN_ENV is ${config.env}`);
        }
        if (!config.trustProxy) {
          problems.push("TRUST_PROXY is off behind Fly's proxy");
        }
        return problems;
      } catch (error) {
        return [String(error)];
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------

let app: Awaited<ReturnType<typeof createTestContext>> | undefined;
const ctx: Context = {
  async get(path) {
    app ??= await createTestContext();
    const response = await app.app.request(path);
    await response.body?.cancel();
    return response.status;
  },
};

async function problemsOf(check: Check, sources: Sources): Promise<string[]> {
  return await check.run(parse(sources), ctx);
}

Deno.test("the deployment files agree with each other and with the app", async (t) => {
  try {
    for (const check of CHECKS) {
      await t.step(check.name, async () => {
        assert.deepEqual(await problemsOf(check, SOURCES), []);
      });
    }
  } finally {
    await app?.close();
    app = undefined;
  }
});

/** One edit of one file; each must be seen by the check it is listed under. */
interface Mutation {
  file: keyof Sources;
  from: string | RegExp;
  to: string;
}

const MUTATIONS: Record<string, Mutation[]> = {
  "fly.toml internal_port is the LiteFS proxy's port": [
    { file: "fly", from: "internal_port = 8080", to: "internal_port = 8081" },
    { file: "litefs", from: 'addr: ":8080"', to: 'addr: ":9090"' },
  ],
  "the proxy's target is the server's PORT": [
    { file: "fly", from: 'PORT = "8081"', to: 'PORT = "8000"' },
    { file: "litefs", from: "localhost:8081", to: "localhost:3000" },
    { file: "dockerfile", from: "PORT=8081", to: "PORT=8000" },
  ],
  "DATABASE_URL is the proxy's database inside the FUSE mount": [
    {
      file: "fly",
      from: "file:/litefs/lectern.db",
      to: "file:/data/lectern.db",
    },
    { file: "litefs", from: 'db: "lectern.db"', to: 'db: "app.db"' },
  ],
  "LITEFS_DIR is the FUSE mount": [
    {
      file: "fly",
      from: 'LITEFS_DIR = "/litefs"',
      to: 'LITEFS_DIR = "/mnt/litefs"',
    },
    { file: "litefs", from: 'dir: "/litefs"', to: 'dir: "/mnt/litefs"' },
  ],
  "LiteFS data and DATA_DIR live on the volume, apart from each other and the mount":
    [
      {
        file: "fly",
        from: 'destination = "/data"',
        to: 'destination = "/var/lib/lectern"',
      },
      {
        file: "fly",
        from: 'DATA_DIR = "/data/app"',
        to: 'DATA_DIR = "/app/data"',
      },
      {
        file: "fly",
        from: 'DATA_DIR = "/data/app"',
        to: 'DATA_DIR = "/data/litefs/app"',
      },
      {
        file: "litefs",
        from: 'dir: "/data/litefs"',
        to: 'dir: "/var/lib/litefs"',
      },
      { file: "dockerfile", from: "DATA_DIR=/data/app", to: "DATA_DIR=/data" },
    ],
  "exec migrates on candidates only, before the server, which comes last": [
    { file: "litefs", from: "if-candidate: true", to: "if-candidate: false" },
    { file: "litefs", from: "promote: true", to: "promote: false" },
    {
      file: "litefs",
      from:
        /( {2}- cmd: "deno task db:migrate"\n {4}if-candidate: true\n)( {2}- cmd: "deno run [^\n]*"\n)/,
      to: "$2$1",
    },
    {
      file: "denoJson",
      from: "cli/main.ts db migrate",
      to: "cli/main.ts db status",
    },
  ],
  "the server starts with the same permissions everywhere": [
    {
      file: "litefs",
      from: "--allow-run=ffmpeg,ffprobe server/main.ts",
      to: "server/main.ts",
    },
    {
      file: "dockerfile",
      from: "--allow-run=ffmpeg,ffprobe server/main.ts",
      to: "--allow-run server/main.ts",
    },
    {
      file: "denoJson",
      from: '"start": "deno run --allow-net',
      to: '"start": "deno run -A --allow-net',
    },
  ],
  "the Dockerfile installs a pinned LiteFS and starts `litefs mount` as root": [
    {
      file: "dockerfile",
      from: "flyio/litefs:0.5.11",
      to: "flyio/litefs:latest",
    },
    {
      file: "dockerfile",
      from: 'ENTRYPOINT ["litefs", "mount"]',
      to: 'ENTRYPOINT ["deno"]',
    },
    { file: "dockerfile", from: "COPY litefs.yml /etc/litefs.yml", to: "" },
    {
      file: "dockerfile",
      from: /\nENTRYPOINT/,
      to: '\nUSER deno\nCMD ["deno"]\nENTRYPOINT',
    },
    {
      file: "dockerfile",
      from: "ca-certificates fuse3",
      to: "ca-certificates",
    },
    { file: "dockerfile", from: "sqlite3 ffmpeg", to: "sqlite3" },
  ],
  "the lease: candidates in the primary region, reachable, in Consul": [
    { file: "litefs", from: "${FLY_REGION == PRIMARY_REGION}", to: "true" },
    {
      file: "fly",
      from: 'PRIMARY_REGION = "ams"',
      to: 'PRIMARY_REGION = "fra"',
    },
    { file: "litefs", from: ".internal:20202", to: ".internal:20203" },
    { file: "litefs", from: 'type: "consul"', to: 'type: "static"' },
    {
      file: "litefs",
      from: 'key: "litefs/${FLY_APP_NAME}"',
      to: 'key: "litefs/primary"',
    },
  ],
  "fly.toml checks the app (200 on a real app) and LiteFS's /litefs/health": [
    { file: "fly", from: 'path = "/healthz"', to: 'path = "/health"' },
    {
      file: "fly",
      from: 'path = "/litefs/health"',
      to: 'path = "/litefs/healthz"',
    },
    {
      file: "litefs",
      from: '    - "/healthz"\n',
      to: '    - "/healthz"\n    - "/litefs/*"\n',
    },
  ],
  "every passthrough path is one the app serves": [
    { file: "litefs", from: '    - "/readyz"\n', to: '    - "/ready"\n' },
  ],
  "the app accepts fly.toml's environment and finds LiteFS through it": [
    {
      file: "fly",
      from: 'LECTERN_ENV = "production"',
      to: 'LECTERN_ENV = "prod"',
    },
    { file: "fly", from: 'TRUST_PROXY = "true"', to: 'TRUST_PROXY = "false"' },
  ],
};

Deno.test("each check fails when one file changes alone", async (t) => {
  try {
    assert.deepEqual(
      Object.keys(MUTATIONS).sort(),
      CHECKS.map((check) => check.name).sort(),
      "every check has mutations that must make it fail",
    );
    for (const check of CHECKS) {
      for (const mutation of MUTATIONS[check.name]!) {
        const key = mutation.file;
        await t.step(
          `${check.name}: ${key} ${mutation.from} → ${mutation.to}`,
          async () => {
            const changed = SOURCES[key].replace(mutation.from, mutation.to);
            assert.notEqual(
              changed,
              SOURCES[key],
              "the edit must apply to the real file",
            );
            const problems = await problemsOf(check, {
              ...SOURCES,
              [key]: changed,
            });
            assert.ok(problems.length > 0, "the check did not notice");
          },
        );
      }
    }
  } finally {
    await app?.close();
    app = undefined;
  }
});

Deno.test("the YAML and TOML readers refuse what they do not understand", () => {
  assert.throws(() => parseYaml("a: [1, 2]"), /unsupported/);
  assert.throws(
    () => parseYaml("a:\n  b: 1\n c: 2"),
    /not a key|indentation|not read/,
  );
  assert.throws(() => parseToml("a = [1, 2]"), /unsupported/);
  assert.deepEqual(
    parseYaml(
      'a:\n  - cmd: "x # y" # note\n    if: true\n  - "z"\nb: ${X == Y}',
    ),
    { a: [{ cmd: "x # y", if: true }, "z"], b: "${X == Y}" },
  );
  assert.deepEqual(
    parseToml(
      'x = 1\n[t]\n  k = "v" # c\n  [[t.list]]\n    p = "/a"\n  [[t.list]]\n    p = \'/b\'',
    ),
    { x: 1, t: { k: "v", list: [{ p: "/a" }, { p: "/b" }] } },
  );
});
