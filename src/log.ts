// The process logger: pino, JSON lines on stdout, or nothing in tests unless LOG_LEVEL sets a level.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino({
    name: options.name ?? 'thunderlink',
    level,
    redact: ['req.headers.authorization', 'token'],
  });
}

/** A logger that drops everything, for tests that do not read the logs. */
export function silentLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'silent' });
}
