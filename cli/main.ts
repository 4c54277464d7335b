import { Command } from "@commander-js/extra-typings";
import { API_VERSION } from "../server/app.ts";
import { dbCommand } from "./commands/db.ts";
import { outboxCommand } from "./commands/outbox.ts";
import { categoriesCommand } from "./commands/categories.ts";
import { programsCommand } from "./commands/programs.ts";
import { usersCommand } from "./commands/users.ts";
import { enrollmentsCommand } from "./commands/enrollments.ts";
import { subscriptionsCommand } from "./commands/subscriptions.ts";
import { quizzesCommand } from "./commands/quizzes.ts";
import { certificatesCommand } from "./commands/certificates.ts";
import { instructorsCommand } from "./commands/instructors.ts";
import { reportsCommand } from "./commands/reports.ts";
import { auditCommand } from "./commands/audit.ts";
import { backupCommand } from "./commands/backup.ts";
import { seedCommand } from "./commands/seed.ts";
import { tutoringCommand } from "./commands/tutoring.ts";
import { relationshipsCommand } from "./commands/relationships.ts";
import { refuseWritesOnReplica } from "./replica.ts";

/** `deno task cli <noun> <verb>`: every command calls the same services as the API. */
const program = new Command("lectern")
  .description(
    "Administer a Lectern server: the database, accounts, emails, the catalog, enrollments, plans, quizzes, certificates, instructors, relationships, tutoring, reports and the audit log",
  )
  .version(API_VERSION)
  .showHelpAfterError()
  .addCommand(dbCommand)
  .addCommand(usersCommand)
  .addCommand(outboxCommand)
  .addCommand(programsCommand)
  .addCommand(categoriesCommand)
  .addCommand(enrollmentsCommand)
  .addCommand(subscriptionsCommand)
  .addCommand(quizzesCommand)
  .addCommand(certificatesCommand)
  .addCommand(instructorsCommand)
  .addCommand(reportsCommand)
  .addCommand(auditCommand)
  .addCommand(backupCommand)
  .addCommand(seedCommand)
  .addCommand(relationshipsCommand)
  .addCommand(tutoringCommand)
  .hook("preAction", (_program, action) => refuseWritesOnReplica(action));

await program.parseAsync(Deno.args, { from: "user" });
