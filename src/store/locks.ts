// Transaction-level advisory locks, scoped to the schema the registry lives in. PostgreSQL's
// advisory locks are database-wide, so two registries in different schemas of one database (as
// tests run them) would otherwise block or skip each other's work. Each lock is the pair
// (key, hash of the current schema).

/** Waits for the lock; it is released when the transaction ends. */
export const lockSql = 'SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))';

/** Takes the lock if it is free. The result column `locked` is true when it was taken. */
export const tryLockSql =
  'SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema())) AS locked';
