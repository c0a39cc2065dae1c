// Clean shutdown on SIGINT and SIGTERM: the first signal runs the stop function, a second one
// exits at once.
import type { Logger } from '../log.js';

export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handle = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal, exiting without a clean stop');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      stop().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'clean stop failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', handle);
    process.on('SIGTERM', handle);
  });
}
