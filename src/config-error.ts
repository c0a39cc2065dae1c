// A bad setting: the message starts with the setting's name, and the command exits with status 2.

export class ConfigError extends Error {
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}
