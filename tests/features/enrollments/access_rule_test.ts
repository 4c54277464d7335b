import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import {
  type AccessType,
  type Program,
  type ProgramLevel,
  subscriptions,
  type User,
} from "../../../db/schema/mod.ts";
import {
  type AccessFacts,
  activeGrants,
  canUseFeature,
  decideAccess,
  type Feature,
  featureAccess,
} from "../../../server/features/access/service.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { currentTier } from "../../../server/features/subscriptions/current.ts";
import { setSubscriptionByAdmin } from "../../../server/features/subscriptions/service.ts";
import { createUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  endAccess,
  enroll,
  makeProgram,
  uniqueEmail,
} from "../../helpers/factories.ts";

// ---------------------------------------------------------------------------------------------
// The dimensions of the table.
// ---------------------------------------------------------------------------------------------

const ROLES = ["student", "instructor", "owner", "admin"] as const;
type RoleCase = (typeof ROLES)[number];
const GRANTS = [
  "none",
  "chatbot",
  "documentation",
  "examSimulator",
  "bundle",
  "bundle-refunded",
] as const;
type GrantCase = (typeof GRANTS)[number];
const TIERS = ["free", "basic", "premium", "basic-expired"] as const;
type TierCase = (typeof TIERS)[number];
const LEVELS: ProgramLevel[] = ["Beginner", "Advanced"];
const FEATURES_UNDER_TEST: Feature[] = [
  "chatbot",
  "documentation",
  "examSimulator",
];

// ---------------------------------------------------------------------------------------------
// The expected table, written from the specification alone (it does not call the server's code):
//  - the program's owner and admins may use everything;
//  - otherwise a grant that is still active and whose access type covers the feature
//    (bundle covers the three features; a refunded grant covers nothing);
//  - otherwise a current subscription: basic covers the three features at Beginner,
//    Intermediate and All Levels, premium at every level; an expired subscription is free;
//  - the free tier covers nothing by itself.
// ---------------------------------------------------------------------------------------------

function expectedAccess(
  role: RoleCase,
  grant: GrantCase,
  tier: TierCase,
  level: ProgramLevel,
  feature: Feature,
): boolean {
  if (role === "owner" || role === "admin") return true;
  if (grant === "bundle") return true;
  if (grant === feature) return true;
  if (tier === "premium") return true;
  if (tier === "basic") {
    return level === "Beginner" || level === "Intermediate" ||
      level === "All Levels";
  }
  return false;
}

/** What the pure rule is told about a cell: the facts the DB-backed path would gather. */
function factsOf(
  role: RoleCase,
  grant: GrantCase,
  tier: TierCase,
): AccessFacts {
  return {
    role: role === "owner" ? "owner" : role === "admin" ? "admin" : "other",
    grants: grant === "none" || grant === "bundle-refunded" ? [] : [grant],
    tier: tier === "basic-expired" ? "free" : tier,
  };
}

const DAY_MS = 86_400_000;

interface Learner {
  role: RoleCase;
  grant: GrantCase;
  tier: TierCase;
  user: User;
  token: string;
  /** The program this learner is checked against, per level. */
  programs: Record<string, Program>;
}

interface ProgramWithLesson {
  program: Program;
  lessonId: string;
}

async function newUser(
  ctx: TestContext,
  role: "student" | "instructor" | "admin",
  label: string,
) {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail(label),
    name: label,
    password: null,
    role,
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  return { user, token };
}

/** A published program of a level with one module and one lesson, built by its owner via the API. */
async function programWithLesson(
  ctx: TestContext,
  owner: { user: User; token: string },
  level: ProgramLevel,
): Promise<ProgramWithLesson> {
  const program = await makeProgram(ctx, owner.user, {
    title: `${level} program of ${owner.user.name}`,
    level,
  });
  const module = await api(ctx, "POST", `/api/programs/${program.id}/modules`, {
    token: owner.token,
    body: { title: "Module 1" },
  });
  assert.equal(module.status, 201, JSON.stringify(module.body));
  const lesson = await api(
    ctx,
    "POST",
    `/api/programs/${program.id}/modules/${module.body.module.id}/lessons`,
    {
      token: owner.token,
      body: {
        title: "Lesson 1",
        content: "# Secret content",
        estimatedMinutes: 5,
      },
    },
  );
  assert.equal(lesson.status, 201, JSON.stringify(lesson.body));
  return { program, lessonId: lesson.body.lesson.id };
}

/** Gives a learner the grant and the tier of their cell, with real rows. */
async function arrange(
  ctx: TestContext,
  userId: string,
  grant: GrantCase,
  tier: TierCase,
  programIds: string[],
) {
  for (const programId of programIds) {
    if (grant === "none") continue;
    const accessType: AccessType = grant === "bundle-refunded"
      ? "bundle"
      : grant;
    await enroll(ctx, userId, programId, accessType);
    if (grant === "bundle-refunded") {
      assert.equal(await endAccess(ctx, userId, programId, "refunded"), 1);
    }
  }
  if (tier === "free") return;
  const plan = tier === "premium" ? "premium" : "basic";
  const result = await setSubscriptionByAdmin(
    ctx.deps,
    ADMIN_ACTOR,
    userId,
    plan,
    new Date(Date.now() + 30 * DAY_MS),
  );
  assert.equal(result.tier, plan);
  if (tier === "basic-expired") {
    await ctx.deps.db.update(subscriptions).set({
      currentPeriodStart: new Date(Date.now() - 31 * DAY_MS),
      currentPeriodEnd: new Date(Date.now() - DAY_MS),
    }).where(eq(subscriptions.userId, userId));
  }
}

Deno.test("the access rule: role × grant × tier × level × feature", async (t) => {
  const ctx = await createTestContext();
  try {
    // -----------------------------------------------------------------------------------------
    // Build the world once: a house instructor owns the shared Beginner and Advanced programs;
    // each owner cell gets its own pair of programs (the owner must be their instructor).
    // -----------------------------------------------------------------------------------------
    const house = await newUser(ctx, "instructor", "House Instructor");
    const shared: Record<string, ProgramWithLesson> = {};
    for (const level of LEVELS) {
      shared[level] = await programWithLesson(ctx, house, level);
    }
    const lessonOf = new Map<string, string>();
    for (const level of LEVELS) {
      lessonOf.set(shared[level]!.program.id, shared[level]!.lessonId);
    }

    const learners: Learner[] = [];
    for (const role of ROLES) {
      for (const grant of GRANTS) {
        for (const tier of TIERS) {
          const label = `${role} ${grant} ${tier}`;
          const account = await newUser(
            ctx,
            role === "owner" ? "instructor" : role,
            label,
          );
          const programs: Record<string, Program> = {};
          for (const level of LEVELS) {
            if (role === "owner") {
              const own = await programWithLesson(ctx, account, level);
              programs[level] = own.program;
              lessonOf.set(own.program.id, own.lessonId);
            } else {
              programs[level] = shared[level]!.program;
            }
          }
          await arrange(
            ctx,
            account.user.id,
            grant,
            tier,
            Object.values(programs).map((p) => p.id),
          );
          learners.push({
            role,
            grant,
            tier,
            user: account.user,
            token: account.token,
            programs,
          });
        }
      }
    }
    assert.equal(learners.length, 4 * 6 * 4);

    await t.step(
      "the expected table itself has the shape the spec implies",
      () => {
        let cells = 0;
        let allowed = 0;
        for (const role of ROLES) {
          for (const grant of GRANTS) {
            for (const tier of TIERS) {
              for (const level of LEVELS) {
                for (const feature of FEATURES_UNDER_TEST) {
                  cells++;
                  if (
                    expectedAccess(role, grant, tier, level, feature)
                  ) allowed++;
                }
              }
            }
          }
        }
        assert.equal(cells, 576);
        // Owners and admins: 2 × 144 cells. Others, per role: premium 36, basic 18 (Beginner)
        // + 6 (Advanced, from grants), free 12, expired 12 = 84.
        assert.equal(allowed, 2 * 144 + 2 * 84);
        // A few cells spelled out.
        assert.equal(
          expectedAccess("student", "none", "basic", "Advanced", "chatbot"),
          false,
        );
        assert.equal(
          expectedAccess("student", "none", "basic", "Beginner", "chatbot"),
          true,
        );
        assert.equal(
          expectedAccess(
            "instructor",
            "bundle-refunded",
            "basic-expired",
            "Beginner",
            "documentation",
          ),
          false,
        );
        assert.equal(
          expectedAccess(
            "student",
            "examSimulator",
            "free",
            "Advanced",
            "examSimulator",
          ),
          true,
        );
        assert.equal(
          expectedAccess("owner", "none", "free", "Advanced", "chatbot"),
          true,
        );
      },
    );

    await t.step(
      "the real rows say what each cell intends (grants and tier)",
      async () => {
        for (const learner of learners) {
          const tier = await currentTier(ctx.deps.db, learner.user.id);
          assert.equal(
            tier,
            learner.tier === "basic-expired" ? "free" : learner.tier,
            `tier of ${learner.user.name}`,
          );
          for (const level of LEVELS) {
            const grants = await activeGrants(
              ctx.deps.db,
              learner.user.id,
              learner.programs[level]!.id,
            );
            assert.deepEqual(
              grants,
              factsOf(learner.role, learner.grant, learner.tier).grants,
              `active grants of ${learner.user.name} at ${level}`,
            );
          }
        }
      },
    );

    await t.step(
      "the pure decideAccess matches the table in all 576 cells",
      () => {
        const wrong: string[] = [];
        for (const role of ROLES) {
          for (const grant of GRANTS) {
            for (const tier of TIERS) {
              for (const level of LEVELS) {
                const got = decideAccess(factsOf(role, grant, tier), level);
                for (const feature of FEATURES_UNDER_TEST) {
                  const want = expectedAccess(
                    role,
                    grant,
                    tier,
                    level,
                    feature,
                  );
                  if (got[feature] !== want) {
                    wrong.push(
                      `${role}/${grant}/${tier}/${level}/${feature}: got ${
                        got[feature]
                      }, want ${want}`,
                    );
                  }
                }
              }
            }
          }
        }
        assert.deepEqual(wrong, []);
      },
    );

    await t.step(
      "the DB-backed featureAccess and canUseFeature match the table in all 576 cells",
      async () => {
        const wrong: string[] = [];
        for (const learner of learners) {
          for (const level of LEVELS) {
            const program = learner.programs[level]!;
            const got = await featureAccess(ctx.deps, learner.user, program);
            for (const feature of FEATURES_UNDER_TEST) {
              const want = expectedAccess(
                learner.role,
                learner.grant,
                learner.tier,
                level,
                feature,
              );
              const cell =
                `${learner.role}/${learner.grant}/${learner.tier}/${level}/${feature}`;
              if (got[feature] !== want) {
                wrong.push(
                  `featureAccess ${cell}: got ${got[feature]}, want ${want}`,
                );
              }
              const one = await canUseFeature(
                ctx.deps,
                learner.user,
                program,
                feature,
              );
              if (one !== want) {
                wrong.push(`canUseFeature ${cell}: got ${one}, want ${want}`);
              }
            }
          }
        }
        assert.deepEqual(wrong, []);
      },
    );

    await t.step("nobody signed in may use anything", async () => {
      for (const level of LEVELS) {
        assert.deepEqual(
          await featureAccess(ctx.deps, undefined, shared[level]!.program),
          { chatbot: false, documentation: false, examSimulator: false },
        );
      }
    });

    await t.step(
      "reading a lesson over HTTP: 200 with documentation access, 402 PAYMENT_REQUIRED without",
      async () => {
        const wrong: string[] = [];
        let ok = 0;
        let refused = 0;
        for (const learner of learners) {
          for (const level of LEVELS) {
            const program = learner.programs[level]!;
            const lessonId = lessonOf.get(program.id)!;
            const res = await api(
              ctx,
              "GET",
              `/api/programs/${program.id}/lessons/${lessonId}`,
              { token: learner.token },
            );
            const want = expectedAccess(
              learner.role,
              learner.grant,
              learner.tier,
              level,
              "documentation",
            );
            const cell =
              `${learner.role}/${learner.grant}/${learner.tier}/${level}`;
            if (want) {
              ok++;
              if (res.status !== 200) {
                wrong.push(
                  `${cell}: ${res.status} ${JSON.stringify(res.body)}`,
                );
                continue;
              }
              assert.equal(res.body.lesson.id, lessonId);
              assert.match(res.body.lesson.contentHtml, /Secret content/);
              continue;
            }
            refused++;
            if (res.status !== 402) {
              wrong.push(`${cell}: ${res.status}, want 402`);
              continue;
            }
            assert.equal(res.body.success, false);
            assert.equal(res.body.error.code, "PAYMENT_REQUIRED");
            const details = res.body.error.details;
            assert.equal(details.feature, "documentation");
            assert.equal(details.programId, program.id);
            assert.deepEqual(details.options, [
              { accessType: "documentation", price: 14.99 },
              { accessType: "bundle", price: 34.99 },
            ]);
            assert.deepEqual(
              details.plans,
              level === "Advanced" ? ["premium"] : ["basic", "premium"],
              `plans offered at ${level}`,
            );
            assert.equal(details.upgradeUrl, "/api/subscriptions/plans");
            assert.equal(
              JSON.stringify(res.body).includes("Secret content"),
              false,
            );
          }
        }
        assert.deepEqual(wrong, []);
        assert.ok(ok > 0 && refused > 0, "both outcomes were exercised");
      },
    );

    await t.step(
      "access follows the rows: a refund ends it, a lapse of the plan ends it, a new grant restores it",
      async () => {
        const learner = await newUser(ctx, "student", "Lifecycle Learner");
        const { program, lessonId } = shared.Advanced!;
        const path = `/api/programs/${program.id}/lessons/${lessonId}`;
        const read = async () =>
          (await api(ctx, "GET", path, { token: learner.token })).status;
        assert.equal(await read(), 402);
        await enroll(ctx, learner.user.id, program.id, "documentation");
        assert.equal(await read(), 200);
        await endAccess(ctx, learner.user.id, program.id, "refunded");
        assert.equal(await read(), 402);
        await setSubscriptionByAdmin(
          ctx.deps,
          ADMIN_ACTOR,
          learner.user.id,
          "premium",
          new Date(Date.now() + DAY_MS),
        );
        assert.equal(await read(), 200);
        await ctx.deps.db.update(subscriptions).set({
          currentPeriodEnd: new Date(Date.now() - 1000),
        }).where(eq(subscriptions.userId, learner.user.id));
        assert.equal(await read(), 402, "an expired plan is the free tier");
        await enroll(ctx, learner.user.id, program.id, "bundle");
        assert.equal(await read(), 200);
      },
    );
  } finally {
    await ctx.close();
  }
});
