-- Enrollments become one row per learner and program (progress hangs off it); what was bought
-- moves to access_grants, one row per access type. Existing rows are carried over.
DROP INDEX `enrollments_user_program_access_idx`;--> statement-breakpoint
DROP INDEX `enrollments_program_idx`;--> statement-breakpoint
ALTER TABLE `enrollments` RENAME TO `__old_enrollments`;--> statement-breakpoint
CREATE TABLE `enrollments` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`status` text DEFAULT 'in_progress' NOT NULL,
	`last_lesson_id` text,
	`last_accessed_at` integer,
	`completed_at` integer,
	`dropped_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`last_lesson_id`) REFERENCES `lessons`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_user_program_idx` ON `enrollments` (`user_id`,`program_id`);--> statement-breakpoint
CREATE INDEX `enrollments_program_idx` ON `enrollments` (`program_id`);--> statement-breakpoint
INSERT INTO `enrollments`("id", "user_id", "program_id", "status", "created_at", "updated_at") SELECT min("id"), "user_id", "program_id", 'in_progress', min("created_at"), max("updated_at") FROM `__old_enrollments` GROUP BY "user_id", "program_id";--> statement-breakpoint
CREATE TABLE `access_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`enrollment_id` text NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`access_type` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`source` text NOT NULL,
	`payment_id` text,
	`revoked_at` integer,
	`revoke_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `access_grants_payment_id_unique` ON `access_grants` (`payment_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `access_grants_enrollment_type_idx` ON `access_grants` (`enrollment_id`,`access_type`);--> statement-breakpoint
CREATE INDEX `access_grants_lookup_idx` ON `access_grants` (`user_id`,`program_id`,`status`);--> statement-breakpoint
INSERT INTO `access_grants`("id", "enrollment_id", "user_id", "program_id", "access_type", "status", "source", "created_at", "updated_at") SELECT old."id", e."id", old."user_id", old."program_id", old."access_type", CASE old."status" WHEN 'active' THEN 'active' WHEN 'refunded' THEN 'refunded' ELSE 'revoked' END, 'admin', old."created_at", old."updated_at" FROM `__old_enrollments` old JOIN `enrollments` e ON e."user_id" = old."user_id" AND e."program_id" = old."program_id";--> statement-breakpoint
DROP TABLE `__old_enrollments`;--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`user_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`response_body` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `invoices` (
	`id` text PRIMARY KEY NOT NULL,
	`stripe_invoice_id` text NOT NULL,
	`user_id` text NOT NULL,
	`subscription_id` text,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`status` text NOT NULL,
	`hosted_invoice_url` text,
	`invoice_pdf_url` text,
	`period_start` integer,
	`period_end` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`subscription_id`) REFERENCES `subscriptions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_stripe_invoice_id_unique` ON `invoices` (`stripe_invoice_id`);--> statement-breakpoint
CREATE INDEX `invoices_user_idx` ON `invoices` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `learning_days` (
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	PRIMARY KEY(`user_id`, `day`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `lesson_progress` (
	`user_id` text NOT NULL,
	`lesson_id` text NOT NULL,
	`program_id` text NOT NULL,
	`completed_at` integer,
	`time_spent_seconds` integer DEFAULT 0 NOT NULL,
	`first_accessed_at` integer NOT NULL,
	`last_accessed_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `lesson_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`lesson_id`) REFERENCES `lessons`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `lesson_progress_program_idx` ON `lesson_progress` (`user_id`,`program_id`);--> statement-breakpoint
CREATE INDEX `lesson_progress_recent_idx` ON `lesson_progress` (`user_id`,`last_accessed_at`);--> statement-breakpoint
CREATE TABLE `payments` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`access_type` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`stripe_payment_intent_id` text,
	`refunded_amount` integer DEFAULT 0 NOT NULL,
	`failure_message` text,
	`succeeded_at` integer,
	`refunded_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payments_stripe_payment_intent_id_unique` ON `payments` (`stripe_payment_intent_id`);--> statement-breakpoint
CREATE INDEX `payments_user_idx` ON `payments` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `payments_program_idx` ON `payments` (`program_id`,`status`);--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`outcome` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`status` text NOT NULL,
	`source` text NOT NULL,
	`stripe_subscription_id` text,
	`amount` integer DEFAULT 0 NOT NULL,
	`currency` text DEFAULT 'usd' NOT NULL,
	`current_period_start` integer NOT NULL,
	`current_period_end` integer NOT NULL,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`canceled_at` integer,
	`last_event_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscriptions_stripe_subscription_id_unique` ON `subscriptions` (`stripe_subscription_id`);--> statement-breakpoint
CREATE INDEX `subscriptions_user_idx` ON `subscriptions` (`user_id`,`status`);--> statement-breakpoint
ALTER TABLE `users` ADD `stripe_customer_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `users_stripe_customer_id_unique` ON `users` (`stripe_customer_id`);