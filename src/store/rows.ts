// Conversions from database rows to the records the registry returns.

/** Copies a row with every Date turned into an ISO 8601 string, the wire format of times. */
export function toRecord<T>(row: Record<string, unknown>): T {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    record[key] = value instanceof Date ? value.toISOString() : value;
  }
  return record as T;
}

export function toRecords<T>(rows: Record<string, unknown>[]): T[] {
  return rows.map((row) => toRecord<T>(row));
}

/** Matches the canonical text form of a UUID, which node and group names may never take. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/** PostgreSQL error codes that the store turns into registry errors. */
export const pgErrorCodes = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  deadlockDetected: '40P01',
  serializationFailure: '40001',
} as const;

export function pgErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('constraint' in error)) return undefined;
  const constraint = (error as { constraint: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
