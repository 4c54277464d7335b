import type { Program } from "../../../db/schema/mod.ts";
import { AppError } from "../../lib/errors.ts";
import { toMajor } from "../../lib/money.ts";
import type { Feature } from "./service.ts";

/** 402 with what would grant the feature: the access types that cover it and their prices. */
export function paymentRequiredFor(program: Program, feature: Feature) {
  const price = {
    chatbot: program.priceChatbot,
    documentation: program.priceDocumentation,
    examSimulator: program.priceExamSimulator,
  }[feature];
  return new AppError(
    402,
    "PAYMENT_REQUIRED",
    `This needs ${feature} access to "${program.title}"`,
    {
      feature,
      programId: program.id,
      currency: program.currency,
      options: [
        { accessType: feature, price: toMajor(price) },
        { accessType: "bundle", price: toMajor(program.priceBundle) },
      ],
    },
  );
}
