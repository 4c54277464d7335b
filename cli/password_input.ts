import { AppError } from "../server/lib/errors.ts";

const decoder = new TextDecoder();

async function readAllStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of Deno.stdin.readable) chunks.push(chunk);
  const text = decoder.decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return text.replace(/\r?\n$/, "");
}

/** Reads one line from the terminal without echoing it. */
async function promptHidden(label: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(label));
  Deno.stdin.setRaw(true);
  let value = "";
  try {
    const buffer = new Uint8Array(64);
    outer: while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 3) throw new Error("cancelled");
        if (byte === 13 || byte === 10) break outer;
        if (byte === 127 || byte === 8) value = value.slice(0, -1);
        else value += String.fromCharCode(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return value;
}

/**
 * A password never comes from an argument (it would sit in shell history and `ps`): either piped in
 * with --password-stdin, or typed twice at a hidden prompt.
 */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return await readAllStdin();
  if (!Deno.stdin.isTerminal()) {
    throw new AppError(
      400,
      "PASSWORD_REQUIRED",
      "No terminal to ask for the password: pipe it in with --password-stdin",
    );
  }
  const first = await promptHidden("Password: ");
  const second = await promptHidden("Repeat password: ");
  if (first !== second) {
    throw new AppError(400, "PASSWORDS_DIFFER", "The two passwords differ");
  }
  return first;
}
