// Vitest global setup: builds the web page before the browser tests when dist/web is missing or
// older than a file under web/, so the tests never run a stale build.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const builtPage = 'dist/web/index.html';

function newestChange(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const changed = entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, changed);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(builtPage).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  const sources = Math.max(
    newestChange('web'),
    newestChange('src/registry'),
    newestChange('src/realtime'),
  );
  if (builtAt() >= sources) return;
  console.info('building the web page for the browser tests (npx vite build)');
  execFileSync('npx', ['vite', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
