import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'web/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./src/testing/build-page.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './src/testing/summary-reporter.ts'],
  },
});
