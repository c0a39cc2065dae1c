// Liveness, readiness and Prometheus metrics, outside the API prefix.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { Gauge, Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client';

import type { Database } from '../../store/database.js';
import { migrations } from '../../store/migrations/index.js';
import { sendProblem } from '../problem.js';

export function healthRoutes(app: FastifyInstance, db: Database, metrics: MetricsRegistry): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      const [row] = await db.query<{ version: number }>(
        'SELECT COALESCE(max(version), 0) AS version FROM thunderlink_schema_migrations',
      );
      const expected = migrations[migrations.length - 1]?.version ?? 0;
      if ((row?.version ?? 0) < expected) {
        return sendProblem(
          reply,
          'TL_ERR_STORE_UNAVAILABLE',
          `the schema is at version ${row?.version ?? 0}, expected ${expected}; run thunderlink migrate`,
        );
      }
      return { status: 'ready', schema_version: row?.version ?? 0 };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return sendProblem(reply, 'TL_ERR_STORE_UNAVAILABLE', 'the database does not answer');
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });
}

/** The process's Prometheus registry with default metrics and the count of nodes by status. */
export function createMetrics(db: Database): MetricsRegistry {
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'thunderlink_' });
  new Gauge({
    name: 'thunderlink_nodes',
    help: 'Registered nodes by status',
    labelNames: ['status'],
    registers: [metrics],
    async collect() {
      this.reset();
      const rows = await db.query<{ status: string; count: number }>(
        'SELECT status, count(*)::bigint AS count FROM thunderlink_nodes GROUP BY status',
      );
      for (const row of rows) this.set({ status: row.status }, row.count);
    },
  });
  return metrics;
}
