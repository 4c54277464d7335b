CREATE TABLE `certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`recipient_name` text NOT NULL,
	`program_title` text NOT NULL,
	`school_name` text NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer,
	`score` real,
	`basis` text NOT NULL,
	`quiz_attempt_id` text,
	`reason` text,
	`status` text DEFAULT 'valid' NOT NULL,
	`revoked_at` integer,
	`revoked_reason` text,
	`superseded_by_id` text,
	`replaces_id` text,
	`pdf_key` text,
	`pdf_sha256` text,
	`credential` text NOT NULL,
	`issued_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`issued_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_code_unique` ON `certificates` (`code`);--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_one_valid_idx` ON `certificates` (`user_id`,`program_id`) WHERE status = 'valid';--> statement-breakpoint
CREATE INDEX `certificates_user_idx` ON `certificates` (`user_id`,`issued_at`);--> statement-breakpoint
CREATE INDEX `certificates_program_idx` ON `certificates` (`program_id`);--> statement-breakpoint
ALTER TABLE `programs` ADD `certificate_rule` text;--> statement-breakpoint
ALTER TABLE `programs` ADD `certificate_validity_days` integer;--> statement-breakpoint
ALTER TABLE `quizzes` ADD `certificate_role` text DEFAULT 'none' NOT NULL;