// Rate-limited logging of failed registry requests, so that retries do not flood the log.
import type { Logger } from '../log.js';
import { RegistryResponseError } from './client.js';

/**
 * Logs the first failure of a run of failures of one kind at warn level and the repeats at debug
 * level, so a registry that is down for an hour costs a few log lines, not one per retry.
 */
export class FailureLog {
  private kind: string | undefined;
  private count = 0;

  constructor(private readonly logger: () => Logger) {}

  failed(error: Error, fields: Record<string, unknown>): void {
    const kind = failureKind(error);
    if (kind === this.kind) {
      this.count += 1;
      this.logger().debug({ ...fields, err: error, failures: this.count }, 'request failed again');
      return;
    }
    const previous = this.kind === undefined ? {} : { previous_failures: this.count };
    this.kind = kind;
    this.count = 1;
    this.logger().warn({ ...fields, ...previous, err: error }, 'registry request failed, retrying');
  }

  recovered(): void {
    if (this.kind === undefined) return;
    this.logger().info({ failures: this.count }, 'registry reachable again');
    this.kind = undefined;
    this.count = 0;
  }
}

function failureKind(error: Error): string {
  if (error instanceof RegistryResponseError) return `status ${error.status}`;
  const cause = error.cause as { code?: unknown; cause?: { code?: unknown }; name?: unknown };
  return String(cause?.cause?.code ?? cause?.code ?? cause?.name ?? error.name);
}
