/**
 * `deno task bench import`: writes a GIFT file of 50,000 questions of every type (under the 10 MiB
 * import limit) and imports it with the real CLI (`deno task cli quizzes import FILE --program ID
 * --json`) into a program on a fresh database, in a child process whose wall time and peak RSS are
 * measured. Aim (from the issue): under 10 s and under 400 MB. BENCH_IMPORT_QUESTIONS changes the
 * count. Peak RSS comes from `/usr/bin/time -v` when it exists (BENCH_NO_TIME=1: from polling `ps`
 * instead, which can miss a short peak).
 */
import { openServices } from "../server/bootstrap.ts";
import { loadConfig } from "../server/env.ts";
import { createProgram } from "../server/features/programs/service.ts";
import { MAX_IMPORT_BYTES } from "../server/features/quizzes/import.ts";
import { createUser } from "../server/features/users/service.ts";
import { createLogger } from "../server/lib/logger.ts";
import { benchEnv, freePort, mb, ROOT, verdict } from "./support.ts";

const QUESTIONS = Number(Deno.env.get("BENCH_IMPORT_QUESTIONS") ?? 50_000);
const AIM_SECONDS = 10;
const AIM_RSS_MB = 400;

const WORDS = (
  "energy force mass velocity pressure volume density current voltage charge field wave " +
  "frequency light lens mirror atom molecule reaction acid base salt enzyme cell tissue organ " +
  "gene protein river mountain climate ocean desert forest treaty empire market price demand " +
  "supply budget ledger asset equity loop array string function variable compiler network"
).split(" ");

/** `count` words, picked deterministically from `seed`; no GIFT special characters. */
const words = (seed: number, count: number) =>
  Array.from(
    { length: count },
    (_, k) => WORDS[(seed * 7919 + k * 104729 + k * k * 31) % WORDS.length]!,
  ).join(" ");

/**
 * One question in GIFT. Ten kinds in rotation: four single choice (4 options, feedback on each,
 * general feedback, some in [html]), then multiple answers (%50% weights), true/false with feedback,
 * short answer, numerical, matching and essay. Every text carries its number, so none is a
 * duplicate of another (the importer skips duplicates by content hash).
 */
function giftQuestion(i: number, n: number): string {
  const title = `::Q${i} ${WORDS[i % WORDS.length]}::`;
  const stem = `Question ${i}: ${words(i, n)}?`;
  const fb = (k: number) => words(i + k, Math.max(1, n >> 1));
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const html = i % 4 === 1;
      const text = html ? `[html]<p>${stem}</p>` : stem;
      return `${title} ${text} {\n` +
        `  =${words(i + 1, 3)} ${i}#Right: ${fb(11)}\n` +
        `  ~${words(i + 2, 3)}#No: ${fb(12)}\n` +
        `  ~${words(i + 3, 3)}#No: ${fb(13)}\n` +
        `  ~${words(i + 4, 3)}#No: ${fb(14)}\n` +
        `  ####${fb(15)}\n}`;
    }
    case 4:
      return `${title} ${stem} (choose two) {\n` +
        `  ~%50%${words(i + 1, 2)} ${i}#${fb(11)}\n` +
        `  ~%50%${words(i + 2, 2)}#${fb(12)}\n` +
        `  ~%-50%${words(i + 3, 2)}#${fb(13)}\n` +
        `  ~%-50%${words(i + 4, 2)}#${fb(14)}\n}`;
    case 5:
      return `${title} ${stem} {${i % 2 ? "TRUE" : "F"}#${fb(11)}#${fb(12)}}`;
    case 6:
      return `${title} ${stem} {=${words(i + 1, 2)} =${words(i + 2, 1)} ${i}}`;
    case 7:
      return `${title} ${stem} What is pi to two places? {#${i}.14:0.01}`;
    case 8:
      return `${title} ${stem} Match them. {\n` +
        `  =${words(i + 1, 1)} ${i} -> ${words(i + 5, 1)}\n` +
        `  =${words(i + 2, 1)} -> ${words(i + 6, 2)}\n` +
        `  =${words(i + 3, 1)} -> ${words(i + 7, 3)}\n}`;
    default:
      return `${title} ${stem} Explain in a paragraph. {}`;
  }
}

/** The whole file; a `$CATEGORY:` line every 500 questions. */
export function giftBank(count: number, wordsPerText: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 500 === 0) {
      parts.push(
        `// questions ${i} to ${i + 499}\n$CATEGORY: $course$/top/Bench/Part ${
          i / 500 + 1
        }\n`,
      );
    }
    parts.push(`${giftQuestion(i, wordsPerText)}\n`);
  }
  return parts.join("\n");
}

const encoder = new TextEncoder();

/** The longest texts (in words) that keep the file under the import limit, with 5% to spare. */
function fittingBank(count: number): { text: string; wordsPerText: number } {
  for (let n = 12; n >= 1; n--) {
    const text = giftBank(count, n);
    if (encoder.encode(text).byteLength <= MAX_IMPORT_BYTES * 0.95) {
      return { text, wordsPerText: n };
    }
  }
  throw new Error(`${count} questions do not fit in ${MAX_IMPORT_BYTES} bytes`);
}

/**
 * The largest resident set among a process and its descendants right now, from `ps` (Deno wants
 * --allow-all to read /proc/<pid>/status, which `deno task bench` does not grant). Polled, it can
 * miss a short peak: `/usr/bin/time -v` is preferred when present.
 */
async function treeRssKb(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-e", "-o", "pid=,ppid=,rss="],
  }).output();
  const rows = new TextDecoder().decode(stdout).trim().split("\n").map((
    line,
  ) => line.trim().split(/\s+/).map(Number));
  const tree = new Set([pid]);
  let peak = 0;
  for (let grew = true; grew;) {
    grew = false;
    for (const [id, parent] of rows) {
      if (tree.has(parent!) && !tree.has(id!)) (tree.add(id!), grew = true);
    }
  }
  for (const [id, , rss] of rows) {
    if (tree.has(id!)) peak = Math.max(peak, rss!);
  }
  return peak;
}

export interface ImportBenchResult {
  questions: number;
  fileBytes: number;
  wordsPerText: number;
  seconds: number;
  peakRssMb: number;
  rssSource: string;
  created: number;
  met: boolean;
}

export async function runImportBench(): Promise<ImportBenchResult> {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-bench-import-" });
  try {
    const env = benchEnv(dataDir, freePort());
    const { text, wordsPerText } = fittingBank(QUESTIONS);
    const file = `${dataDir}/bank.gift`;
    await Deno.writeTextFile(file, text);
    const fileBytes = (await Deno.stat(file)).size;
    if (fileBytes > MAX_IMPORT_BYTES) {
      throw new Error(`the GIFT file is ${fileBytes} bytes, over the limit`);
    }

    // The program the questions go into, made through the services (the CLI has no `programs create`).
    const services = await openServices(loadConfig(env), {
      logger: createLogger("silent"),
    });
    const owner = await createUser(services.deps.db, {
      email: "import-bench@school.test",
      name: "Import Bench",
      password: null,
      role: "instructor",
      emailVerified: true,
    });
    const program = await createProgram(services.deps, owner, {
      title: "Question bank benchmark",
      category: "Development",
      description: "Receives a 50,000-question GIFT import",
      status: "published",
      pricing: {
        chatbot: 9.99,
        documentation: 14.99,
        examSimulator: 19.99,
        bundle: 34.99,
      },
    });
    await services.close();

    const timeBin = "/usr/bin/time";
    const haveTime = !Deno.env.get("BENCH_NO_TIME") &&
      await Deno.stat(timeBin).then(() => true, () => false);
    const cli = [
      Deno.execPath(),
      "task",
      "--quiet",
      "cli",
      "quizzes",
      "import",
      file,
      "--program",
      program.id,
      "--json",
    ];
    const [command, ...args] = haveTime ? [timeBin, "-v", ...cli] : cli;
    const started = performance.now();
    const child = new Deno.Command(command!, {
      args,
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let polledKb = 0;
    // Polling costs CPU the import would use; only without /usr/bin/time.
    let polling = !haveTime;
    const poller = (async () => {
      while (polling) {
        polledKb = Math.max(polledKb, await treeRssKb(child.pid));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const output = await child.output();
    const seconds = (performance.now() - started) / 1000;
    polling = false;
    await poller;
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    if (!output.success) {
      throw new Error(
        `the import failed (exit ${output.code}):\n${stderr}\n${stdout}`,
      );
    }
    const timedKb = Number(
      /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0,
    );
    const peakKb = timedKb || polledKb;
    const report = JSON.parse(stdout) as {
      created: number;
      skipped: number;
      warnings: unknown[];
      errors: unknown[];
    };
    if (report.created !== QUESTIONS) {
      throw new Error(
        `expected ${QUESTIONS} questions created, the CLI reports ${report.created} (skipped ${report.skipped}, ${report.errors.length} errors, ${report.warnings.length} warnings)`,
      );
    }
    const peakRssMb = peakKb / 1024;
    return {
      questions: QUESTIONS,
      fileBytes,
      wordsPerText,
      seconds,
      peakRssMb,
      rssSource: timedKb ? "/usr/bin/time -v" : "ps polling every 50 ms",
      created: report.created,
      met: seconds < AIM_SECONDS && peakRssMb < AIM_RSS_MB,
    };
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

export function printImportResult(r: ImportBenchResult): void {
  console.log(
    `\nGIFT import (CLI, child process): ${r.questions} questions, ${
      mb(r.fileBytes)
    } MiB file (${r.fileBytes} bytes, limit ${MAX_IMPORT_BYTES}; ${r.wordsPerText} words per text)`,
  );
  console.log(
    `created ${r.created}; wall time ${
      r.seconds.toFixed(2)
    } s (aim < ${AIM_SECONDS} s: ${
      verdict(r.seconds < AIM_SECONDS)
    }); peak RSS ${r.peakRssMb.toFixed(0)} MB (aim < ${AIM_RSS_MB} MB: ${
      verdict(r.peakRssMb < AIM_RSS_MB)
    }) [${r.rssSource}]`,
  );
}

if (import.meta.main) printImportResult(await runImportBench());
