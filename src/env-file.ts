import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from './config.js';

/**
 * Loads `.env` from the working directory when there is one (see `.env.example`).
 * Variables already set in the environment win over the file.
 */
export function loadEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/**
 * The prologue of every entry point: `.env`, then the validated configuration; on a bad
 * value, prints every problem and exits with code 2.
 */
export function loadConfigOrExit(): Config {
  try {
    loadEnvFile();
    return loadConfig();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(2);
  }
}
