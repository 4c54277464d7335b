DROP INDEX `quiz_attempt_answers_question_idx`;--> statement-breakpoint
CREATE INDEX `quiz_attempt_answers_question_idx` ON `quiz_attempt_answers` (`question_id`);