import { hmac } from "@oslojs/crypto/hmac";
import { clusterRole } from "../../lib/cluster.ts";
import { SHA256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import type { Deps } from "../../deps.ts";
import { recordEvent } from "../events/record.ts";

const DAY_MS = 86_400_000;
const MAX_REMEMBERED = 50_000;
const encoder = new TextEncoder();

/**
 * Appends `program.viewed` analytics events, at most one per visitor, program and UTC day, off the
 * response path. A signed-in visitor is their user id; an anonymous one is a keyed hash of the
 * address that changes every day, so views can be counted without tracking people. Not the user
 * agent: a client picks that, and could make every request a new visitor (and a new write).
 */
export class ViewRecorder {
  #seen = new Set<string>();
  #day = -1;

  constructor(
    private readonly deps: Pick<Deps, "db" | "background" | "config">,
  ) {}

  /** The anonymous visitor's key for today. */
  visitorKey(ip: string, now = Date.now()): string {
    const day = Math.floor(now / DAY_MS);
    const mac = hmac(
      SHA256,
      encoder.encode(this.deps.config.jwtSecret),
      encoder.encode(`view|${day}|${ip}`),
    );
    return `anon:${encodeHexLowerCase(mac).slice(0, 20)}`;
  }

  record(
    programId: string,
    visitor: { userId?: string; ip: string },
    now = Date.now(),
  ): void {
    // A replica cannot write; views it serves go uncounted rather than failing.
    if (!clusterRole(this.deps.config.litefsDir).primary) return;
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day || this.#seen.size >= MAX_REMEMBERED) {
      this.#seen.clear();
      this.#day = day;
    }
    const key = visitor.userId ?? this.visitorKey(visitor.ip, now);
    const seenKey = `${key}|${programId}`;
    if (this.#seen.has(seenKey)) return;
    this.#seen.add(seenKey);
    this.deps.background.run(
      "record program view",
      () =>
        recordEvent(this.deps.db, "program.viewed", {
          ...(visitor.userId ? { userId: visitor.userId } : {}),
          programId,
          payload: { visitor: key },
        }),
    );
  }
}

const recorders = new WeakMap<object, ViewRecorder>();

/** One recorder per database (and so per running app), like the auth cache. */
export function viewRecorderFor(
  deps: Pick<Deps, "db" | "background" | "config">,
): ViewRecorder {
  let recorder = recorders.get(deps.db);
  if (!recorder) {
    recorder = new ViewRecorder(deps);
    recorders.set(deps.db, recorder);
  }
  return recorder;
}
