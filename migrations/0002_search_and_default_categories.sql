-- Full-text search over programs and instructors, kept in step with every writer by triggers.
-- The FTS rowid is the rowid of the indexed row, so updates and joins never scan the index.
CREATE VIRTUAL TABLE `program_search` USING fts5(
  `title`, `description`, `overview`, `lessons`,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `programs_search_insert` AFTER INSERT ON `programs` BEGIN
  INSERT INTO `program_search` (rowid, `title`, `description`, `overview`, `lessons`)
  VALUES (new.rowid, new.`title`, new.`description`, new.`overview_text`, '');
END;
--> statement-breakpoint
CREATE TRIGGER `programs_search_update` AFTER UPDATE OF `title`, `description`, `overview_text` ON `programs` BEGIN
  UPDATE `program_search`
  SET `title` = new.`title`, `description` = new.`description`, `overview` = new.`overview_text`
  WHERE rowid = new.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `programs_search_delete` AFTER DELETE ON `programs` BEGIN
  DELETE FROM `program_search` WHERE rowid = old.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `lessons_search_insert` AFTER INSERT ON `lessons` BEGIN
  UPDATE `program_search`
  SET `lessons` = (SELECT group_concat(`title` || ' ' || `content_text`, ' ') FROM `lessons` WHERE `program_id` = new.`program_id`)
  WHERE rowid = (SELECT rowid FROM `programs` WHERE `id` = new.`program_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `lessons_search_update` AFTER UPDATE OF `title`, `content_text`, `program_id` ON `lessons` BEGIN
  UPDATE `program_search`
  SET `lessons` = coalesce((SELECT group_concat(`title` || ' ' || `content_text`, ' ') FROM `lessons` WHERE `program_id` = old.`program_id`), '')
  WHERE rowid = (SELECT rowid FROM `programs` WHERE `id` = old.`program_id`);
  UPDATE `program_search`
  SET `lessons` = coalesce((SELECT group_concat(`title` || ' ' || `content_text`, ' ') FROM `lessons` WHERE `program_id` = new.`program_id`), '')
  WHERE rowid = (SELECT rowid FROM `programs` WHERE `id` = new.`program_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `lessons_search_delete` AFTER DELETE ON `lessons` BEGIN
  UPDATE `program_search`
  SET `lessons` = coalesce((SELECT group_concat(`title` || ' ' || `content_text`, ' ') FROM `lessons` WHERE `program_id` = old.`program_id`), '')
  WHERE rowid = (SELECT rowid FROM `programs` WHERE `id` = old.`program_id`);
END;
--> statement-breakpoint
CREATE VIRTUAL TABLE `instructor_search` USING fts5(
  `name`, `expertise`,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `users_search_insert` AFTER INSERT ON `users` WHEN new.`role` = 'instructor' AND new.`status` = 'active' BEGIN
  INSERT INTO `instructor_search` (rowid, `name`, `expertise`)
  VALUES (new.rowid, new.`name`, coalesce((SELECT group_concat(j.value, ' ') FROM `instructor_profiles` p, json_each(p.`expertise`) j WHERE p.`user_id` = new.`id`), ''));
END;
--> statement-breakpoint
CREATE TRIGGER `users_search_update` AFTER UPDATE OF `name`, `role`, `status` ON `users` BEGIN
  DELETE FROM `instructor_search` WHERE rowid = old.rowid;
  INSERT INTO `instructor_search` (rowid, `name`, `expertise`)
  SELECT new.rowid, new.`name`, coalesce((SELECT group_concat(j.value, ' ') FROM `instructor_profiles` p, json_each(p.`expertise`) j WHERE p.`user_id` = new.`id`), '')
  WHERE new.`role` = 'instructor' AND new.`status` = 'active';
END;
--> statement-breakpoint
CREATE TRIGGER `users_search_delete` AFTER DELETE ON `users` BEGIN
  DELETE FROM `instructor_search` WHERE rowid = old.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `instructor_profiles_search_insert` AFTER INSERT ON `instructor_profiles` BEGIN
  UPDATE `instructor_search`
  SET `expertise` = coalesce((SELECT group_concat(j.value, ' ') FROM json_each(new.`expertise`) j), '')
  WHERE rowid = (SELECT rowid FROM `users` WHERE `id` = new.`user_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `instructor_profiles_search_update` AFTER UPDATE OF `expertise` ON `instructor_profiles` BEGIN
  UPDATE `instructor_search`
  SET `expertise` = coalesce((SELECT group_concat(j.value, ' ') FROM json_each(new.`expertise`) j), '')
  WHERE rowid = (SELECT rowid FROM `users` WHERE `id` = new.`user_id`);
END;
--> statement-breakpoint
-- 002's six categories as the default set; admins add, rename and remove them afterwards.
INSERT INTO `categories` (`id`, `name`, `slug`, `position`, `created_at`) VALUES
  ('01M7XPE6002MMWNARSE0JDQ4MT', 'Technology', 'technology', 1, 1795219200000),
  ('01M7XPE601PHFE7B4F8FCHEG23', 'Development', 'development', 2, 1795219200000),
  ('01M7XPE602YRNHKHFQ7EE7N0KJ', 'Marketing', 'marketing', 3, 1795219200000),
  ('01M7XPE603ZTSS5C6QXZ34MJCQ', 'Financial', 'financial', 4, 1795219200000),
  ('01M7XPE6043119Z9C1KP031PEY', 'Fitness Train', 'fitness-train', 5, 1795219200000),
  ('01M7XPE605SKCFPJ05DNVMXZZ9', 'Art & Design', 'art-design', 6, 1795219200000);
