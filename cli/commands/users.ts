import { Argument, Command, Option } from "@commander-js/extra-typings";
import { ROLES, type User, USER_STATUSES } from "../../db/schema/mod.ts";
import type { Deps } from "../../server/deps.ts";
import { CLI_ACTOR } from "./programs.ts";
import * as users from "../../server/features/users/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";
import { readNewPassword } from "../password_input.ts";

export const usersCommand = new Command("users").description(
  "Accounts: create, inspect, change role, ban",
);

const full = (user: User) => ({
  ...users.toUserResponse(user),
  requestedRole: user.requestedRole,
  banReason: user.banReason,
});
const line = (user: User) =>
  `${user.id}  ${user.email}  ${user.role}  ${user.status}${
    user.emailVerifiedAt ? "" : " (unverified)"
  }  ${user.name}`;

/** Runs one service call on a user and prints the result: the shape every write command shares. */
function userAction(
  done: (user: User) => string,
  work: (deps: Deps) => Promise<User>,
) {
  return async (options: { json?: true | undefined }) => {
    try {
      const user = await withServices(({ deps }) => work(deps));
      if (options.json) printJson(full(user));
      else console.log(done(user));
    } catch (error) {
      reportError(error);
    }
  };
}

usersCommand.command("create")
  .description("Create an account with a verified email (e.g. the first admin)")
  .requiredOption("--email <email>", "email address")
  .requiredOption("--name <name>", "display name")
  .addOption(
    new Option("--role <role>", "role").choices(ROLES).default(
      "student" as const,
    ),
  )
  .option(
    "--password-stdin",
    "read the password from standard input instead of a prompt",
  )
  .option("--json", "print the account as JSON")
  .action(async (options) => {
    let password: string;
    try {
      password = await readNewPassword(options.passwordStdin === true);
    } catch (error) {
      reportError(error);
    }
    await userAction(
      (u) => `Created ${u.role} ${u.email} (${u.id})`,
      (deps) =>
        users.createAccount(deps, CLI_ACTOR, {
          email: options.email,
          name: options.name,
          password,
          role: options.role,
          emailVerified: true,
        }),
    )(options);
  });

usersCommand.command("list")
  .description("List accounts, oldest first")
  .addOption(new Option("--role <role>", "only this role").choices(ROLES))
  .addOption(
    new Option("--status <status>", "only this status").choices(USER_STATUSES),
  )
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const limit = Math.min(Math.max(options.limit || 50, 1), 500);
      const page = Math.max(options.page || 1, 1);
      const result = await withServices(({ deps }) =>
        users.listUsers(deps, {
          role: options.role,
          status: options.status,
          limit,
          offset: (page - 1) * limit,
        })
      );
      if (options.json) {
        return printJson({
          users: result.users.map(full),
          total: result.total,
          page,
          limit,
        });
      }
      for (const user of result.users) console.log(line(user));
      console.log(`${result.users.length} of ${result.total} account(s)`);
    } catch (error) {
      reportError(error);
    }
  });

usersCommand.command("show")
  .description("Show one account")
  .argument("<user>", "id or email")
  .option("--json", "print as JSON")
  .action((who, options) =>
    userAction(line, (deps) => users.resolveUser(deps, who))(options)
  );

usersCommand.command("set-role")
  .description("Change an account's role")
  .argument("<user>", "id or email")
  .addArgument(
    new Argument("<role>", "student, instructor or admin").choices(ROLES),
  )
  .option("--json", "print as JSON")
  .action((who, role, options) =>
    userAction(
      (u) => `${u.email} is now ${u.role}`,
      (deps) => users.setRole(deps, CLI_ACTOR, who, role),
    )(options)
  );

usersCommand.command("ban")
  .description("Ban an account: every session ends at once")
  .argument("<user>", "id or email")
  .requiredOption("--reason <reason>", "why (kept on the account)")
  .option("--json", "print as JSON")
  .action((who, options) =>
    userAction(
      (u) => `Banned ${u.email}`,
      (deps) => users.banUser(deps, CLI_ACTOR, who, options.reason),
    )(options)
  );

usersCommand.command("unban")
  .description("Lift a ban")
  .argument("<user>", "id or email")
  .option("--json", "print as JSON")
  .action((who, options) =>
    userAction(
      (u) => `Unbanned ${u.email}`,
      (deps) => users.unbanUser(deps, CLI_ACTOR, who),
    )(options)
  );

usersCommand.command("verify")
  .description("Mark an account's email as verified")
  .argument("<user>", "id or email")
  .option("--json", "print as JSON")
  .action((who, options) =>
    userAction(
      (u) => `Email verified for ${u.email}`,
      (deps) => users.markEmailVerified(deps, CLI_ACTOR, who),
    )(options)
  );
