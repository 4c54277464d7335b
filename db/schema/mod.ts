export * from "./users.ts";
export * from "./auth.ts";
export * from "./outbox.ts";
export * from "./catalog.ts";
export * from "./learning.ts";
export * from "./billing.ts";
export * from "./quizzes.ts";
export * from "./events.ts";
