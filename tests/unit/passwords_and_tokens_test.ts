import assert from "node:assert/strict";
import { hashToken, newToken, safeEqual } from "../../server/lib/secrets.ts";
import {
  hashPassword,
  passwordProblem,
  verifyPassword,
} from "../../server/lib/passwords.ts";
import { JwtSigner } from "../../server/lib/jwt.ts";
import FakeTimers from "@sinonjs/fake-timers";
import { isId, newId } from "../../server/lib/ids.ts";

Deno.test("passwordProblem enforces length, the common list, variety and the email", () => {
  assert.match(passwordProblem("short")!, /at least 10/);
  assert.match(passwordProblem("x".repeat(257))!, /at most 256/);
  assert.match(
    passwordProblem("Password123")!,
    /too common/,
    "the list is case-insensitive",
  );
  assert.match(passwordProblem("qwertyuiop")!, /too common/);
  assert.match(passwordProblem("abababababab")!, /predictable/);
  assert.match(
    passwordProblem("jane.doe-2026!", { email: "jane.doe@school.test" })!,
    /email/,
  );
  assert.equal(passwordProblem("correct horse battery staple"), null);
});

Deno.test("argon2id hashes verify only the right password and never equal the input", async () => {
  const hash = await hashPassword("correct horse battery staple");
  assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(
    await verifyPassword(hash, "correct horse battery staple"),
    true,
  );
  assert.equal(
    await verifyPassword(hash, "correct horse battery stapler"),
    false,
  );
  assert.equal(await verifyPassword("not-a-hash", "anything"), false);
});

Deno.test("opaque tokens are random, stored as SHA-256 and compared in constant time", () => {
  const a = newToken();
  const b = newToken();
  assert.notEqual(a.token, b.token);
  assert.equal(a.hash, hashToken(a.token));
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.ok(!a.hash.includes(a.token));
  assert.equal(safeEqual("abc", "abc"), true);
  assert.equal(safeEqual("abc", "abd"), false);
  assert.equal(safeEqual("abc", "abcd"), false);
});

Deno.test("JwtSigner signs HS256 access tokens and rejects other keys, algorithms and expired ones", () => {
  const signer = new JwtSigner("a-secret-that-is-at-least-32-characters");
  const claims = {
    userId: "u1",
    role: "student",
    subscriptionTier: "free",
    sid: "s1",
  };
  const token = signer.sign(claims);
  assert.deepEqual(signer.verify(token), claims);
  assert.equal(
    new JwtSigner("another-secret-that-is-32-characters-long").verify(token),
    "invalid",
  );
  const [, payload, signature] = token.split(".");
  const noneHeader = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(
    /=+$/,
    "",
  );
  assert.equal(
    signer.verify(`${noneHeader}.${payload}.${signature}`),
    "invalid",
  );
  assert.equal(signer.verify(signer.sign(claims, -1)), "expired");
});

Deno.test("JwtSigner remembers verified tokens but still expires them, and never remembers forgeries", () => {
  const clock = FakeTimers.install({ toFake: ["Date"] });
  try {
    const signer = new JwtSigner("a-secret-that-is-at-least-32-characters");
    const claims = {
      userId: "u1",
      role: "student",
      subscriptionTier: "free",
      sid: "s1",
    };
    const token = signer.sign(claims, 60);
    assert.deepEqual(signer.verify(token), claims);
    assert.deepEqual(
      signer.verify(token),
      claims,
      "second check comes from memory",
    );
    clock.tick(61_000);
    assert.equal(signer.verify(token), "expired");
    assert.equal(signer.verify(token), "expired");

    const forged = new JwtSigner("another-secret-that-is-32-characters-long")
      .sign(claims, 60);
    assert.equal(signer.verify(forged), "invalid");
    assert.equal(signer.verify(forged), "invalid");
  } finally {
    clock.uninstall();
  }
});

Deno.test("ids are 26-character ULIDs that sort by creation time", () => {
  const first = newId(1_700_000_000_000);
  const second = newId(1_700_000_000_001);
  assert.ok(isId(first) && isId(second));
  assert.ok(first < second);
  assert.notEqual(newId(), newId());
});
