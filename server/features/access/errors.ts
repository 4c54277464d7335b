import type { Program } from "../../../db/schema/mod.ts";
import { AppError } from "../../lib/errors.ts";
import { toMajor } from "../../lib/money.ts";
import { plansCovering } from "../subscriptions/plans.ts";
import type { Feature } from "./service.ts";

export const UPGRADE_URL = "/api/subscriptions/plans";

/** The price of each access type, in minor units. */
export const priceOf = (
  program: Program,
  accessType: Feature | "bundle",
): number =>
  ({
    chatbot: program.priceChatbot,
    documentation: program.priceDocumentation,
    examSimulator: program.priceExamSimulator,
    bundle: program.priceBundle,
  })[accessType];

/** 402 with what would grant the feature: the access types that cover it, their prices, and plans. */
export function paymentRequiredFor(program: Program, feature: Feature) {
  return new AppError(
    402,
    "PAYMENT_REQUIRED",
    `This needs ${feature} access to "${program.title}"`,
    {
      feature,
      programId: program.id,
      currency: program.currency,
      options: [
        { accessType: feature, price: toMajor(priceOf(program, feature)) },
        { accessType: "bundle", price: toMajor(program.priceBundle) },
      ],
      plans: plansCovering(feature, program.level),
      upgradeUrl: UPGRADE_URL,
    },
  );
}
