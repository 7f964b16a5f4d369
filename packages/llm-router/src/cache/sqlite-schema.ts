/**
 * The version of the cache file's schema (SQLite's `user_version`). Files written before versions were kept are 0;
 * `sqliteMigration` brings any older file to this one.
 */
export const sqliteSchemaVersion = 1;

/**
 * The tables, and from version 1: indexes on expiry and on the vectors' answer key, and a `totals` row per table kept
 * by triggers (count and bytes, so that a write never counts the whole table). Deleting an answer deletes its vectors.
 * Every statement is idempotent: run in one transaction on a file of any older version, it yields this version.
 * Writes must use upserts (`ON CONFLICT … DO UPDATE`), never `INSERT OR REPLACE`: a replace deletes without firing the
 * delete triggers, and the totals would drift.
 */
export const sqliteMigration = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used_at);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
CREATE TABLE IF NOT EXISTS vectors (
  scope TEXT NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS vectors_expiry ON vectors (expires_at);
CREATE INDEX IF NOT EXISTS vectors_key ON vectors (key);
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, count INTEGER NOT NULL, bytes INTEGER NOT NULL);
INSERT OR REPLACE INTO totals (name, count, bytes) SELECT 'entries', COUNT(*), COALESCE(SUM(bytes), 0) FROM entries;
INSERT OR REPLACE INTO totals (name, count, bytes) SELECT 'vectors', COUNT(*), 0 FROM vectors;
CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries BEGIN
  UPDATE totals SET count = count + 1, bytes = bytes + new.bytes WHERE name = 'entries';
END;
CREATE TRIGGER IF NOT EXISTS entries_resized AFTER UPDATE OF bytes ON entries BEGIN
  UPDATE totals SET bytes = bytes - old.bytes + new.bytes WHERE name = 'entries';
END;
CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries BEGIN
  UPDATE totals SET count = count - 1, bytes = bytes - old.bytes WHERE name = 'entries';
  DELETE FROM vectors WHERE key = old.key;
END;
CREATE TRIGGER IF NOT EXISTS vectors_added AFTER INSERT ON vectors BEGIN
  UPDATE totals SET count = count + 1 WHERE name = 'vectors';
END;
CREATE TRIGGER IF NOT EXISTS vectors_removed AFTER DELETE ON vectors BEGIN
  UPDATE totals SET count = count - 1 WHERE name = 'vectors';
END;
PRAGMA user_version = ${sqliteSchemaVersion};`;
