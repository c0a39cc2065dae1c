// The schema migrations in the order they apply. A released migration is never edited: a change
// to the schema is a new entry with the next version.
import { initialSchema } from './001_initial_schema.js';
import { livenessSchema } from './002_liveness.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: initialSchema },
  { version: 2, name: 'liveness and retention', sql: livenessSchema },
];
