CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`sender_id` text NOT NULL,
	`recipient_id` text NOT NULL,
	`body` text NOT NULL,
	`read_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`sender_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`recipient_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `messages_pair_idx` ON `messages` (`sender_id`,`recipient_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_unread_idx` ON `messages` (`recipient_id`,`read_at`);--> statement-breakpoint
CREATE TABLE `practice_submissions` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`program_id` text,
	`media_id` text NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`piece_name` text,
	`composer` text,
	`practice_goals` text,
	`is_public` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`status_detail` text,
	`duration_seconds` real,
	`processing_attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`media_id`) REFERENCES `media`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `practice_submissions_owner_idx` ON `practice_submissions` (`owner_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `practice_submissions_status_idx` ON `practice_submissions` (`status`);--> statement-breakpoint
CREATE TABLE `progress_records` (
	`id` text PRIMARY KEY NOT NULL,
	`student_id` text NOT NULL,
	`teacher_id` text NOT NULL,
	`submission_id` text NOT NULL,
	`rating` integer NOT NULL,
	`technique_score` integer,
	`musicality_score` integer,
	`rhythm_score` integer,
	`overall_score` integer,
	`notes` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`student_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`teacher_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`submission_id`) REFERENCES `practice_submissions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `progress_records_student_idx` ON `progress_records` (`student_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `progress_records_submission_idx` ON `progress_records` (`submission_id`);--> statement-breakpoint
CREATE TABLE `relationships` (
	`id` text PRIMARY KEY NOT NULL,
	`student_id` text NOT NULL,
	`teacher_id` text NOT NULL,
	`status` text NOT NULL,
	`requested_by` text NOT NULL,
	`message` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`student_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`teacher_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`requested_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `relationships_pair` ON `relationships` (`student_id`,`teacher_id`);--> statement-breakpoint
CREATE INDEX `relationships_teacher_idx` ON `relationships` (`teacher_id`,`status`);--> statement-breakpoint
CREATE TABLE `submission_comments` (
	`id` text PRIMARY KEY NOT NULL,
	`submission_id` text NOT NULL,
	`author_id` text NOT NULL,
	`parent_id` text,
	`content` text NOT NULL,
	`timestamp_seconds` real NOT NULL,
	`category` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`submission_id`) REFERENCES `practice_submissions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `submission_comments_submission_idx` ON `submission_comments` (`submission_id`,`timestamp_seconds`);--> statement-breakpoint
CREATE INDEX `submission_comments_parent_idx` ON `submission_comments` (`parent_id`);--> statement-breakpoint
CREATE TABLE `submission_shares` (
	`submission_id` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`submission_id`) REFERENCES `practice_submissions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `submission_shares_pair` ON `submission_shares` (`submission_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `submission_shares_user_idx` ON `submission_shares` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `tutor_schedules` (
	`instructor_id` text PRIMARY KEY NOT NULL,
	`time_zone` text NOT NULL,
	`weekly` text NOT NULL,
	`days_off` text NOT NULL,
	`hourly_rate` integer,
	`currency` text NOT NULL,
	`cancellation_hours` integer NOT NULL,
	`accepting` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`instructor_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tutoring_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`instructor_id` text NOT NULL,
	`learner_id` text NOT NULL,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`topic` text NOT NULL,
	`status` text NOT NULL,
	`access` text NOT NULL,
	`price` integer,
	`currency` text,
	`stripe_payment_intent_id` text,
	`hold_expires_at` integer,
	`cancelled_by` text,
	`cancel_reason` text,
	`cancelled_at` integer,
	`refund_status` text,
	`notes` text,
	`notes_updated_at` integer,
	`sequence` integer DEFAULT 0 NOT NULL,
	`reminded_day_before_at` integer,
	`reminded_hour_before_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`instructor_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`learner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tutoring_sessions_stripe_payment_intent_id_unique` ON `tutoring_sessions` (`stripe_payment_intent_id`);--> statement-breakpoint
CREATE INDEX `tutoring_sessions_instructor_idx` ON `tutoring_sessions` (`instructor_id`,`starts_at`);--> statement-breakpoint
CREATE INDEX `tutoring_sessions_learner_idx` ON `tutoring_sessions` (`learner_id`,`starts_at`);--> statement-breakpoint
CREATE INDEX `tutoring_sessions_status_idx` ON `tutoring_sessions` (`status`,`starts_at`);