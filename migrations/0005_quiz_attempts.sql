CREATE TABLE `accommodations` (
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`time_multiplier` real NOT NULL,
	`note` text,
	`set_by` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `program_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`set_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`user_id` text,
	`program_id` text,
	`subject_id` text,
	`payload` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_type_time_idx` ON `events` (`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `events_user_idx` ON `events` (`user_id`,`type`);--> statement-breakpoint
CREATE TABLE `quiz_attempt_answers` (
	`attempt_id` text NOT NULL,
	`question_id` text NOT NULL,
	`position` integer NOT NULL,
	`response` text,
	`response_key` text,
	`saved_at` integer,
	`awarded` real,
	`max_points` real NOT NULL,
	`outcome` text,
	`grader_comment` text,
	PRIMARY KEY(`attempt_id`, `question_id`),
	FOREIGN KEY (`attempt_id`) REFERENCES `quiz_attempts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `quiz_attempt_answers_question_idx` ON `quiz_attempt_answers` (`question_id`,`outcome`);--> statement-breakpoint
CREATE TABLE `quiz_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`quiz_id` text NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text NOT NULL,
	`mode` text NOT NULL,
	`status` text DEFAULT 'in_progress' NOT NULL,
	`snapshot` text NOT NULL,
	`time_multiplier` real DEFAULT 1 NOT NULL,
	`started_at` integer NOT NULL,
	`expires_at` integer,
	`submitted_at` integer,
	`finished_by` text,
	`time_taken_seconds` integer,
	`score` real,
	`total_points` real,
	`score_percentage` real,
	`passed` integer,
	`correct_count` integer,
	`incorrect_count` integer,
	`graded_by` text,
	`graded_at` integer,
	FOREIGN KEY (`quiz_id`) REFERENCES `quizzes`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`graded_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `quiz_attempts_user_quiz_idx` ON `quiz_attempts` (`user_id`,`quiz_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_quiz_idx` ON `quiz_attempts` (`quiz_id`,`status`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_open_idx` ON `quiz_attempts` (`status`,`expires_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `quiz_attempts_one_open_idx` ON `quiz_attempts` (`user_id`,`quiz_id`) WHERE status = 'in_progress';