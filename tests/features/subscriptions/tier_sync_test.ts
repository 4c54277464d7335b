import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { subscriptions, users } from "../../../db/schema/mod.ts";
import { syncAllTiers } from "../../../server/features/subscriptions/current.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { createTestContext } from "../../helpers/context.ts";
import { ADMIN_ACTOR, makeUser } from "../../helpers/factories.ts";

Deno.test("the periodic tier sweep corrects stored tiers whose period ended without an event", async () => {
  const ctx = await createTestContext();
  try {
    const lapsed = await makeUser(ctx);
    const current = await makeUser(ctx);
    const until = new Date(Date.now() + 86_400_000);
    await setSubscriptionByAdmin(
      ctx.deps,
      ADMIN_ACTOR,
      lapsed.id,
      "premium",
      until,
    );
    await setSubscriptionByAdmin(
      ctx.deps,
      ADMIN_ACTOR,
      current.id,
      "basic",
      until,
    );
    await ctx.deps.db.update(subscriptions).set({
      currentPeriodEnd: new Date(Date.now() - 1000),
    }).where(eq(subscriptions.userId, lapsed.id));
    const tierOf = async (id: string) =>
      (await ctx.deps.db.select().from(users).where(eq(users.id, id)))[0]!
        .subscriptionTier;
    assert.equal(await tierOf(lapsed.id), "premium", "stale before the sweep");

    assert.equal(await syncAllTiers(ctx.deps.db), 1);
    assert.equal(await tierOf(lapsed.id), "free");
    assert.equal(await tierOf(current.id), "basic");
    assert.equal(await syncAllTiers(ctx.deps.db), 0, "nothing left to fix");
  } finally {
    await ctx.close();
  }
});
