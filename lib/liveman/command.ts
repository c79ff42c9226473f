/**
 * `live777-recorder liveman [-c live777.toml]`: runs the Liveman recording service (segment
 * index, timeline, range manifests, object access) from the `[liveman]` section, reading
 * objects from the `[recorder.storage]` the recorders write to.
 *
 * Exit codes as the recorder's: 0 after SIGINT/SIGTERM, 1 when it cannot start (database
 * unreachable, port taken), 2 on a bad command line or configuration.
 * @module
 */

import { join } from "node:path";
import { type Config, loadConfig } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import { log, setLogLevel } from "../log.ts";
import { createStorage } from "../storage/mod.ts";
import type { Storage } from "../types.ts";
import { openSegmentIndex } from "./index/open.ts";
import type { SegmentIndex } from "./index/segment_index.ts";
import { startLivemanServer } from "./server.ts";

const USAGE = `Usage: live777-recorder liveman [-c|--config <file>]

  -c, --config <file>   configuration file (default: $LIVE777_CONFIG or ./live777.toml)
  -h, --help            show this help
`;

/** Runs the Liveman service until SIGINT/SIGTERM; returns the exit code. */
export async function livemanMain(args: string[]): Promise<number> {
  let configPath = Deno.env.get("LIVE777_CONFIG") || "./live777.toml";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    } else if ((arg === "-c" || arg === "--config") && i + 1 < args.length) {
      configPath = args[++i];
    } else if (arg.startsWith("--config=")) {
      configPath = arg.slice("--config=".length);
    } else {
      console.error(`Unknown argument ${JSON.stringify(arg)}\n\n${USAGE}`);
      return 2;
    }
  }

  let config: Config;
  try {
    config = await loadConfig(configPath, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    return 2;
  }
  setLogLevel(config.log.level);
  const serviceLog = log.child({ component: "liveman" });
  // Liveman only reads; a spool of its own keeps it off a recorder's spool on the same disk.
  let storage: Storage;
  try {
    storage = createStorage(
      { ...config.recorder, stateDir: join(config.recorder.stateDir, "liveman") },
      { log: log.child({ component: "storage" }) },
    );
  } catch (error) {
    serviceLog.error("Cannot create the storage", { error });
    return 1;
  }

  let index: SegmentIndex;
  try {
    index = await openSegmentIndex(config.liveman.database);
  } catch (error) {
    serviceLog.error("Cannot open the segment index", { error });
    await storage.close();
    return 1;
  }

  const shutdown = new AbortController();
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      serviceLog.info("Shutting down", { signal });
      stopped.resolve();
    });
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = startLivemanServer({
      listen: config.liveman.listen,
      signal: shutdown.signal,
      index,
      storage,
      token: config.liveman.token,
      log: serviceLog,
    });
  } catch (error) {
    serviceLog.error("Cannot start", { error });
    await index.close();
    await storage.close();
    return 1;
  }
  serviceLog.info("Liveman listening", {
    http: `${server.addr.hostname}:${server.addr.port}`,
    index: index.description,
    storage: storage.description,
    token: config.liveman.token !== undefined,
  });

  await stopped.promise;
  shutdown.abort();
  await server.finished;
  await index.close();
  await storage.close();
  serviceLog.info("Stopped");
  return 0;
}
