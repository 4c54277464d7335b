CREATE TABLE `ai_answer_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`program_id` text,
	`answer` text NOT NULL,
	`citations` text DEFAULT '[]' NOT NULL,
	`hits` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ai_answer_cache_expiry_idx` ON `ai_answer_cache` (`expires_at`);--> statement-breakpoint
CREATE TABLE `ai_usage` (
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`user_id`, `day`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `chat_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`role` text NOT NULL,
	`content` text NOT NULL,
	`status` text NOT NULL,
	`mode` text,
	`citations` text DEFAULT '[]' NOT NULL,
	`error_code` text,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`rating` text,
	`feedback_comment` text,
	`feedback_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `chat_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `chat_messages_session_idx` ON `chat_messages` (`session_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `chat_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`program_id` text,
	`title` text NOT NULL,
	`message_count` integer DEFAULT 0 NOT NULL,
	`last_message_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`program_id`) REFERENCES `programs`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `chat_sessions_user_idx` ON `chat_sessions` (`user_id`,`last_message_at`);--> statement-breakpoint
-- Added by hand: the tutor's lesson index. One FTS row per lesson (rowid = the lesson's rowid), kept
-- in step by triggers; the program id is stored unindexed so a search stays inside one program.
CREATE VIRTUAL TABLE `lesson_search` USING fts5(
  `title`, `content`, `program_id` UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `lesson_search` (rowid, `title`, `content`, `program_id`)
SELECT rowid, `title`, `content_text`, `program_id` FROM `lessons`;
--> statement-breakpoint
CREATE TRIGGER `lessons_tutor_insert` AFTER INSERT ON `lessons` BEGIN
  INSERT INTO `lesson_search` (rowid, `title`, `content`, `program_id`)
  VALUES (new.rowid, new.`title`, new.`content_text`, new.`program_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `lessons_tutor_update` AFTER UPDATE OF `title`, `content_text`, `program_id` ON `lessons` BEGIN
  UPDATE `lesson_search` SET `title` = new.`title`, `content` = new.`content_text`, `program_id` = new.`program_id`
  WHERE rowid = new.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `lessons_tutor_delete` AFTER DELETE ON `lessons` BEGIN
  DELETE FROM `lesson_search` WHERE rowid = old.rowid;
END;
