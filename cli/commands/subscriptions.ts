import { Command, Option } from "@commander-js/extra-typings";
import { CLI_ACTOR } from "./programs.ts";
import { setSubscriptionByAdmin } from "../../server/features/subscriptions/service.ts";
import { PLAN_IDS } from "../../server/features/subscriptions/plans.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import { AppError } from "../../server/lib/errors.ts";
import { printJson, reportError, withServices } from "../context.ts";

export const subscriptionsCommand = new Command("subscriptions").description(
  "Plans given by an administrator, without Stripe",
);

/** `2027-01-31` (end of that UTC day) or a full ISO timestamp. */
function parseUntil(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? new Date(`${value}T23:59:59.999Z`)
    : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new AppError(
      422,
      "VALIDATION_FAILED",
      "--until must be a date such as 2027-01-31",
      { fields: { until: "Must be a date" } },
    );
  }
  return date;
}

subscriptionsCommand.command("set")
  .description(
    "Put a user on a plan until a date (tier free ends what an administrator gave; Stripe subscriptions are untouched)",
  )
  .requiredOption("--user <user>", "id or email")
  .addOption(
    new Option("--tier <tier>", "plan").choices(PLAN_IDS).makeOptionMandatory(),
  )
  .option("--until <date>", "last day, e.g. 2027-01-31 (required unless free)")
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const until = options.until ? parseUntil(options.until) : undefined;
      await withServices(async ({ deps }) => {
        const user = await resolveUser(deps, options.user);
        const result = await setSubscriptionByAdmin(
          deps,
          CLI_ACTOR,
          user.id,
          options.tier,
          until,
        );
        if (options.json) return printJson(result);
        console.log(
          options.tier === "free"
            ? `${user.email} no longer has a plan given by an administrator; current tier: ${result.tier}`
            : `${user.email} is on ${options.tier} until ${
              result.subscription!.currentPeriodEnd.toISOString()
            }`,
        );
      });
    } catch (error) {
      reportError(error);
    }
  });
