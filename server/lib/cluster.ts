/**
 * Where this process stands in a LiteFS cluster. LiteFS writes `$LITEFS_DIR/.primary` (the primary's
 * hostname) only on a replica that is connected to the primary; without the file this node is the
 * primary, or there is no cluster at all (a single machine, the embedded default). The file is read
 * on every decision, never cached: the primary can move at any moment.
 */
export type ClusterRole =
  | { primary: true }
  | { primary: false; primaryHost: string };

export function clusterRole(litefsDir: string | undefined): ClusterRole {
  if (!litefsDir) return { primary: true };
  try {
    const host = Deno.readTextFileSync(`${litefsDir}/.primary`).trim();
    return host ? { primary: false, primaryHost: host } : { primary: true };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { primary: true };
    throw error;
  }
}

/**
 * The database's replication position, `TXID/checksum` from LiteFS's `<db>-pos` file, as the
 * transaction id (a number that only grows); undefined outside LiteFS.
 */
export function replicationTxid(
  litefsDir: string | undefined,
  databaseName: string,
): bigint | undefined {
  if (!litefsDir) return undefined;
  try {
    const text = Deno.readTextFileSync(`${litefsDir}/${databaseName}-pos`);
    const hex = text.split("/")[0]?.trim();
    return hex && /^[0-9a-f]{1,16}$/i.test(hex)
      ? BigInt(`0x${hex}`)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `fly-replay` names a Fly machine by its id; LiteFS's hostname for it is `<id>.vm.<app>.internal`. */
export function replayTarget(primaryHost: string): string {
  const machine = primaryHost.split(".")[0]!.split(":")[0]!;
  return `instance=${machine}`;
}
