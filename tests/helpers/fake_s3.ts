/**
 * A small S3-compatible server for tests, path-style only (`/bucket/key`): enough of PutObject,
 * GetObject, HeadObject, DeleteObject and ListObjectsV2 (prefix and delimiter, one page) for the
 * AWS SDK v3 S3Client pointed at it
 * with `forcePathStyle`. Every request must be signed (an `Authorization: AWS4-HMAC-SHA256 ...`
 * header; the signature itself is not checked). `failPuts` makes uploads fail; every request is
 * recorded.
 */
export interface StoredObject {
  body: Uint8Array;
  contentType: string | null;
  lastModified: Date;
}

export interface RecordedS3Request {
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  authorization: string | null;
}

const xmlEscape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const xml = (body: string, status = 200) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml" },
  });

const s3Error = (status: number, code: string, message: string) =>
  xml(
    `<Error><Code>${code}</Code><Message>${
      xmlEscape(message)
    }</Message></Error>`,
    status,
  );

/** S3 ETags are the quoted MD5 for simple uploads; any stable quoted hex does for the SDK. */
async function etag(bytes: Uint8Array) {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return `"${
    Array.from(new Uint8Array(digest).slice(0, 16), (b) =>
      b.toString(16).padStart(2, "0")).join("")
  }"`;
}

export function startFakeS3() {
  /** "bucket/key" -> object */
  const objects = new Map<string, StoredObject>();
  const requests: RecordedS3Request[] = [];
  const state = { failPuts: null as number | null };

  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const url = new URL(request.url);
    const [bucket = "", ...rest] = url.pathname.slice(1).split("/");
    const key = rest.map(decodeURIComponent).join("/");
    const query = Object.fromEntries(url.searchParams);
    const authorization = request.headers.get("authorization");
    requests.push({
      method: request.method,
      bucket,
      key,
      query,
      authorization,
    });
    const body = request.method === "PUT"
      ? new Uint8Array(await request.arrayBuffer())
      : undefined;

    if (!authorization?.startsWith("AWS4-HMAC-SHA256")) {
      return s3Error(403, "AccessDenied", "The request is not signed");
    }
    if (!bucket) return s3Error(400, "InvalidRequest", "No bucket");
    const id = `${bucket}/${key}`;

    if (request.method === "PUT" && key) {
      if (state.failPuts !== null) {
        return s3Error(state.failPuts, "InternalError", "The fake is failing");
      }
      const stored = {
        body: body!,
        contentType: request.headers.get("content-type"),
        lastModified: new Date(),
      };
      objects.set(id, stored);
      return new Response(null, { headers: { etag: await etag(stored.body) } });
    }
    if ((request.method === "GET" || request.method === "HEAD") && key) {
      const object = objects.get(id);
      if (!object) {
        return request.method === "HEAD"
          ? new Response(null, { status: 404 })
          : s3Error(404, "NoSuchKey", "The specified key does not exist.");
      }
      const headers = {
        "content-type": object.contentType ?? "application/octet-stream",
        "content-length": String(object.body.length),
        "last-modified": object.lastModified.toUTCString(),
        etag: await etag(object.body),
      };
      return new Response(
        request.method === "HEAD" ? null : object.body as BodyInit,
        { headers },
      );
    }
    if (request.method === "DELETE" && key) {
      objects.delete(id);
      return new Response(null, { status: 204 });
    }
    if (request.method === "GET" && query["list-type"] === "2") {
      const prefix = query.prefix ?? "";
      const delimiter = query.delimiter ?? "";
      const under = [...objects.entries()]
        .filter(([name]) => name.startsWith(`${bucket}/${prefix}`))
        .map(([name, object]) => ({
          key: name.slice(bucket.length + 1),
          object,
        }))
        .sort((a, b) => a.key.localeCompare(b.key));
      // With a delimiter, keys with one after the prefix roll up into CommonPrefixes, as S3 does.
      const folded = (key: string) => {
        if (!delimiter) return undefined;
        const at = key.indexOf(delimiter, prefix.length);
        return at < 0 ? undefined : key.slice(0, at + delimiter.length);
      };
      const listed = under.filter(({ key }) => folded(key) === undefined);
      const commonPrefixes = [
        ...new Set(under.map(({ key }) => folded(key)).filter(Boolean)),
      ] as string[];
      const contents = await Promise.all(
        listed.map(async ({ key, object }) =>
          `<Contents><Key>${
            xmlEscape(key)
          }</Key><LastModified>${object.lastModified.toISOString()}</LastModified><ETag>${
            xmlEscape(await etag(object.body))
          }</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
        ),
      );
      return xml(
        `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${
          xmlEscape(bucket)
        }</Name><Prefix>${xmlEscape(prefix)}</Prefix>${
          delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : ""
        }<KeyCount>${
          listed.length + commonPrefixes.length
        }</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${
          contents.join("")
        }${
          commonPrefixes.map((name) =>
            `<CommonPrefixes><Prefix>${
              xmlEscape(name)
            }</Prefix></CommonPrefixes>`
          ).join("")
        }</ListBucketResult>`,
      );
    }
    if (request.method === "HEAD") return new Response(null); // HeadBucket
    return s3Error(
      405,
      "MethodNotAllowed",
      `${request.method} ${url.pathname}`,
    );
  });

  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return {
    url,
    /** BACKUP_S3_* for a Lectern pointed at this fake (the bucket and prefix are the caller's). */
    env(bucket: string, prefix: string): Record<string, string> {
      return {
        BACKUP_S3_BUCKET: bucket,
        BACKUP_S3_PREFIX: prefix,
        BACKUP_S3_REGION: "us-east-1",
        BACKUP_S3_ENDPOINT: url,
        BACKUP_S3_ACCESS_KEY_ID: "test-access-key",
        BACKUP_S3_SECRET_ACCESS_KEY: "test-secret-key",
        BACKUP_S3_FORCE_PATH_STYLE: "true",
      };
    },
    objects,
    requests,
    /** The object's bytes, or undefined. */
    get(bucket: string, key: string): Uint8Array | undefined {
      return objects.get(`${bucket}/${key}`)?.body;
    },
    /** Stores an object directly, as another client would have. */
    put(
      bucket: string,
      key: string,
      body: Uint8Array,
      lastModified = new Date(),
    ) {
      objects.set(`${bucket}/${key}`, {
        body,
        contentType: null,
        lastModified,
      });
    },
    /** Keys in a bucket (under a prefix), sorted. */
    keys(bucket: string, prefix = ""): string[] {
      return [...objects.keys()]
        .filter((name) => name.startsWith(`${bucket}/${prefix}`))
        .map((name) => name.slice(bucket.length + 1))
        .sort();
    },
    /** Every PUT of an object answers this status (an S3 error) until set back to null. */
    failPuts(status: number | null = 500) {
      state.failPuts = status;
    },
    async close() {
      await server.shutdown();
    },
  };
}

export type FakeS3 = ReturnType<typeof startFakeS3>;

/** An address where nothing listens: connections to it are refused. */
export async function refusedUrl(): Promise<string> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Promise.resolve();
  return `http://127.0.0.1:${port}`;
}
