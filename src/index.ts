// The package's public API: the server, the registry, the agent and the wire types.
export { startServer, type RunningServer } from './server.js';
export { parseServerConfig, type ServerConfig, ConfigError } from './config.js';
export { Registry } from './registry/registry.js';
export { Agent, AgentFatalError, type AgentOptions } from './agent/agent.js';
export { RegistryError, errorCatalog, type ErrorCode } from './errors.js';
export { FakeClock, type Clock } from './clock.js';
export { createLogger } from './log.js';
export type * from './registry/model.js';
export type * from './registry/operations.js';
