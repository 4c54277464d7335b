CREATE TABLE `questions` (
	`id` text PRIMARY KEY NOT NULL,
	`program_id` text NOT NULL,
	`type` text NOT NULL,
	`title` text,
	`text` text NOT NULL,
	`format` text DEFAULT 'plain' NOT NULL,
	`category` text DEFAULT '' NOT NULL,
	`difficulty` text,
	`points` real DEFAULT 1 NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`body` text NOT NULL,
	`content_hash` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `questions_program_hash_idx` ON `questions` (`program_id`,`content_hash`);--> statement-breakpoint
CREATE INDEX `questions_bank_idx` ON `questions` (`program_id`,`category`,`difficulty`);--> statement-breakpoint
CREATE TABLE `quiz_questions` (
	`quiz_id` text NOT NULL,
	`question_id` text NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`quiz_id`, `question_id`),
	FOREIGN KEY (`quiz_id`) REFERENCES `quizzes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `quiz_questions_order_idx` ON `quiz_questions` (`quiz_id`,`position`);--> statement-breakpoint
CREATE TABLE `quizzes` (
	`id` text PRIMARY KEY NOT NULL,
	`program_id` text NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`difficulty` text,
	`duration_minutes` integer,
	`passing_score` integer DEFAULT 70 NOT NULL,
	`is_timed` integer DEFAULT false NOT NULL,
	`allow_retake` integer DEFAULT true NOT NULL,
	`show_answers_after_submit` integer DEFAULT true NOT NULL,
	`attempts_allowed` integer,
	`cooldown_minutes` integer DEFAULT 0 NOT NULL,
	`grading_method` text DEFAULT 'highest' NOT NULL,
	`shuffle_questions` integer DEFAULT false NOT NULL,
	`shuffle_options` integer DEFAULT false NOT NULL,
	`draw_count` integer,
	`draw_category` text,
	`draw_difficulty` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `quizzes_program_idx` ON `quizzes` (`program_id`);