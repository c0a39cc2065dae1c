// Runs the liveness sweep on a timer, and gives nodes a grace period after a start or a clock
// jump. The sweep itself is in registry/liveness.ts; this file decides when, and with what grace.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { RegistryContext } from '../registry/context.js';
import { type Grace, type SweepResult, sweep } from '../registry/liveness.js';
import { readLastSweep } from '../store/liveness.js';
import type { LivenessSettings } from './settings.js';

export class LivenessSweeper {
  private grace: Grace | null = null;
  private previous: { registryMs: number; monotonicMs: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(
    private readonly ctx: RegistryContext,
    private readonly settings: LivenessSettings,
  ) {
    this.logger = ctx.logger.child({ component: 'liveness' });
    this.clock = ctx.clock;
  }

  /**
   * Begins judging. When the registry has not swept for longer than two sweep intervals (it was
   * down, or this is its first start), nodes get a grace period from now.
   */
  async start(): Promise<void> {
    const now = this.clock.now().getTime();
    const lastSweep = (await readLastSweep(this.ctx.db))?.getTime() ?? null;
    if (lastSweep === null || now - lastSweep > 2 * this.settings.sweepIntervalMs) {
      this.grace = { from: now, reference: lastSweep };
      this.logger.info(
        { last_sweep_at: lastSweep === null ? null : new Date(lastSweep).toISOString() },
        'liveness starting with a grace period',
      );
    }
    this.previous = { registryMs: now, monotonicMs: this.clock.monotonicMs() };
  }

  /** Sweeps now and then every sweep interval until stop(). */
  run(): void {
    const tick = () => {
      this.running = this.sweepOnce()
        .catch((error: unknown) => this.logger.error({ err: error }, 'liveness sweep failed'))
        .finally(() => {
          if (this.timer !== undefined)
            this.timer = setTimeout(tick, this.settings.sweepIntervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * Runs one sweep. Registry time that moved differently from monotonic time since the last
   * sweep means the clock was stepped; that starts a grace period instead of judging anyone.
   */
  async sweepOnce(): Promise<SweepResult> {
    const registryMs = this.clock.now().getTime();
    const monotonicMs = this.clock.monotonicMs();
    if (this.previous) {
      const drift =
        registryMs - this.previous.registryMs - (monotonicMs - this.previous.monotonicMs);
      if (Math.abs(drift) > this.settings.clockJumpThresholdMs) {
        this.logger.warn(
          { jump_ms: Math.round(drift) },
          'clock jump detected, grace period starts',
        );
        this.grace = { from: registryMs, reference: this.previous.registryMs };
      }
    }
    this.previous = { registryMs, monotonicMs };

    const result = await sweep(this.ctx, this.settings, this.grace);
    for (const change of result.transitions) {
      this.logger.info(change, 'node status changed by liveness');
    }
    for (const group of result.disruptionsStarted) {
      this.logger.warn({ group }, 'group disrupted: most of its nodes fell silent at once');
    }
    for (const group of result.disruptionsEnded) {
      this.logger.info({ group }, 'group disruption ended');
    }
    return result;
  }
}
