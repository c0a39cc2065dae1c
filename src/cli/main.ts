#!/usr/bin/env node
// The `thunderlink` command line: serve, agent, migrate, demo.

import { ConfigError } from '../config.js';
import { StoreLockedError } from '../store/open.js';
import { version } from '../version.js';
import { runAgent } from './agent.js';
import { runDemo } from './demo.js';
import { runMigrate } from './migrate.js';
import { runServe } from './serve.js';

const usage = `thunderlink ${version}: a node registry for BEAM clusters and their edge devices

Usage: thunderlink <command> [options]

Commands:
  serve     run the registry server and its web page
  agent     register this machine with a server and send its heartbeats
  migrate   apply the database schema migrations and exit
  demo      run the server with a simulated cluster of BEAM and edge nodes
  help      show this text, or "thunderlink help COMMAND" for a command's options

Storage: PGlite in --data-dir (default ./.thunderlink/data), or in memory with --memory,
or a PostgreSQL server when DATABASE_URL is set.`;

export const commandHelp: Record<string, string> = {
  serve: `thunderlink serve [options]
  --host ADDRESS     address to listen on; loopback only in this version (default 127.0.0.1)
  --port N           port to listen on (default 4000, or PORT)
  --data-dir DIR     PGlite data directory (default ./.thunderlink/data)
  --memory           keep everything in memory; nothing is saved
  --agent            also run an agent that registers this machine
  --nats-url URL     also publish every event to NATS JetStream (or NATS_URL)
  --log-level LEVEL  fatal, error, warn, info, debug, trace or silent (default info, or LOG_LEVEL)
  DATABASE_URL       use this PostgreSQL server instead of PGlite`,
  agent: `thunderlink agent [options]
  --server URL          the registry server (default http://127.0.0.1:4000)
  --name NAME           node name (default: this host's name)
  --role ROLE           controller, worker, edge, gateway or relay
  --interval DURATION   time between heartbeats, such as 5s or 500ms (default 5s)
  --link NAME           a node this node holds a link to; repeat for more
  --capability KEY=VALUE  a capability to advertise; repeat for more
  --group NAME          a group to join, created when missing; repeat for more
  --token TOKEN         API token sent as a bearer token
  --log-level LEVEL     as for serve`,
  migrate: `thunderlink migrate [--data-dir DIR]
  Applies the schema migrations to the PGlite data directory, or to DATABASE_URL, and exits.`,
  demo: `thunderlink demo [serve options]
  Runs the server (in memory unless --data-dir is given) with a simulated cluster:
  BEAM nodes in a full mesh, gateways, and edge devices behind them, plus this machine.`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    console.log(topic && commandHelp[topic] ? commandHelp[topic] : usage);
    return 0;
  }
  if (command === '--version' || command === 'version') {
    console.log(version);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp[command] ?? usage);
    return 0;
  }
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'agent':
      return runAgent(rest);
    case 'migrate':
      return runMigrate(rest);
    case 'demo':
      return runDemo(rest);
    case 'token':
      console.error(
        'thunderlink token: API tokens are not available in this version; the server listens on ' +
          'loopback addresses only.',
      );
      return 2;
    default:
      console.error(`thunderlink: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

/** Exit codes: 0 success, 1 a runtime failure, 2 a usage or configuration error. */
function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof StoreLockedError) return 2;
  if (
    error instanceof TypeError &&
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    return 2;
  }
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`thunderlink: ${message}`);
    process.exitCode = exitCodeFor(error);
  },
);
