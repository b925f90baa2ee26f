import { configFields, configSchema, type Config } from './config-schema.ts';

/** A misconfiguration, described in one line that names the variable and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Variables whose value an error message must not repeat. */
const NOT_ECHOED = /SECRET|PASSWORD|TOKEN|PUBLIC_KEY/;

/**
 * Parses the environment once. Unset or empty variables take their defaults;
 * a bad value throws a ConfigError naming the variable, the value and the expectation.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Blank (or whitespace-only) counts as unset: `PORT=" "` must not become port 0.
  const known = Object.keys(configFields.shape);
  const input = Object.fromEntries(
    known.filter((name) => (env[name] ?? '').trim() !== '').map((name) => [name, env[name]!.trim()]),
  );
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    // A secret (or a whole PEM key) is never echoed: its length is enough to spot an empty or truncated one.
    const shown = !(name in input) ? '' : NOT_ECHOED.test(name) ? ` (${input[name]!.length} characters, not shown)` : `=${JSON.stringify(input[name])}`;
    throw new ConfigError(
      `Invalid configuration: ${name}${shown} (${issue.message}). ` +
        `Fix or unset ${name} (see the Configuration table in README.md).`,
    );
  }
  return Object.freeze(parsed.data);
}
