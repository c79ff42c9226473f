/**
 * The command line both programs share (`live777-recorder` and `live777-recorder liveman`):
 * `-c/--config <file>` (else `$LIVE777_CONFIG`, else `./live777.toml`) and `-h/--help`.
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type Config, loadConfig } from "./mod.ts";

/**
 * Reads the arguments and loads the configuration they name. Resolves with the configuration,
 * or with the exit code when the program is to stop: 0 after `--help`, 2 for an unknown
 * argument or a bad configuration (the error is printed, naming the file and the key).
 */
export async function configFromArgs(args: string[], usage: string): Promise<Config | number> {
  let configPath = Deno.env.get("LIVE777_CONFIG") || "./live777.toml";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      console.log(usage);
      return 0;
    } else if ((arg === "-c" || arg === "--config") && i + 1 < args.length) {
      configPath = args[++i];
    } else if (arg.startsWith("--config=")) {
      configPath = arg.slice("--config=".length);
    } else {
      console.error(`Unknown argument ${JSON.stringify(arg)}\n\n${usage}`);
      return 2;
    }
  }
  try {
    return await loadConfig(configPath, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    return 2;
  }
}
