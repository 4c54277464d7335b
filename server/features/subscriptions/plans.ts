import type { PaidPlanId, ProgramLevel } from "../../../db/schema/mod.ts";
import type { StripeConfig } from "../../env.ts";
import type { Feature } from "../access/service.ts";

export type PlanId = "free" | PaidPlanId;
export const PLAN_IDS: readonly PlanId[] = ["free", "basic", "premium"];

/** -1 means no limit. */
export const UNLIMITED = -1;

export interface Plan {
  id: PlanId;
  name: string;
  /** Minor units per billing cycle; Stripe's price (STRIPE_PRICE_*) is what is charged. */
  price: number;
  currency: string;
  billingCycle: "monthly" | null;
  features: string[];
  limits: {
    /** AI tutor messages per UTC day. */
    aiMessages: number;
    /** Max output tokens of one AI tutor answer. */
    aiTokensPerMessage: number;
    /** Programs a learner may enroll in for free at once. */
    programs: number;
  };
  /** What the plan unlocks in every program of these levels, without buying it. */
  covers: { features: readonly Feature[]; levels: readonly ProgramLevel[] };
  /** Whether the plan includes 1-on-1 mentorship (tutoring sessions at no charge). */
  mentorship: boolean;
  /** Its place in the order free < basic < premium. */
  rank: number;
}

const ALL_FEATURES: readonly Feature[] = [
  "chatbot",
  "documentation",
  "examSimulator",
];

/**
 * The one definition of the plans (002 section 8): prices, promises, limits and what each unlocks.
 * 002 lists basic's AI messages as both "unlimited" and 100/day; the AI limits section (100) wins,
 * see docs/decisions/008-enrollment-access-and-payments.md.
 */
export const PLANS: Record<PlanId, Plan> = {
  free: {
    id: "free",
    name: "Free",
    price: 0,
    currency: "usd",
    billingCycle: null,
    features: [
      "Access to free programs",
      "Limited AI chatbot (10 messages/day)",
      "Basic quizzes",
    ],
    limits: { aiMessages: 10, aiTokensPerMessage: 500, programs: 5 },
    covers: { features: [], levels: [] },
    mentorship: false,
    rank: 0,
  },
  basic: {
    id: "basic",
    name: "Basic",
    price: 1999,
    currency: "usd",
    billingCycle: "monthly",
    features: [
      "AI chatbot (100 messages/day)",
      "Access to all beginner and intermediate programs",
      "Exam simulator",
      "Certificates",
    ],
    limits: {
      aiMessages: 100,
      aiTokensPerMessage: 1000,
      programs: UNLIMITED,
    },
    covers: {
      features: ALL_FEATURES,
      levels: ["Beginner", "Intermediate", "All Levels"],
    },
    mentorship: false,
    rank: 1,
  },
  premium: {
    id: "premium",
    name: "Premium",
    price: 3999,
    currency: "usd",
    billingCycle: "monthly",
    features: [
      "All Basic features",
      "Unlimited, priority AI responses",
      "Advanced programs",
      "1-on-1 mentorship sessions",
      "Exclusive content",
    ],
    limits: {
      aiMessages: UNLIMITED,
      aiTokensPerMessage: 2000,
      programs: UNLIMITED,
    },
    covers: {
      features: ALL_FEATURES,
      levels: ["Beginner", "Intermediate", "Advanced", "All Levels"],
    },
    mentorship: true,
    rank: 2,
  },
};

export const planCovers = (
  planId: PlanId,
  feature: Feature,
  level: ProgramLevel,
): boolean => {
  const { covers } = PLANS[planId];
  return covers.features.includes(feature) && covers.levels.includes(level);
};

/** The cheapest plans that unlock a feature of a program at this level: for 402 responses. */
export const plansCovering = (feature: Feature, level: ProgramLevel) =>
  PAID_PLANS.filter((plan) => planCovers(plan.id, feature, level)).map((
    plan,
  ) => plan.id);

const PAID_PLANS = [PLANS.basic, PLANS.premium];

export const stripePriceOf = (
  stripe: StripeConfig,
  planId: PaidPlanId,
): string | undefined => stripe.prices[planId];

/** Which plan a Stripe price id stands for (webhooks name prices, not plans). */
export const planOfStripePrice = (
  stripe: StripeConfig,
  priceId: string | undefined,
): PaidPlanId | undefined =>
  priceId === undefined
    ? undefined
    : priceId === stripe.prices.basic
    ? "basic"
    : priceId === stripe.prices.premium
    ? "premium"
    : undefined;
