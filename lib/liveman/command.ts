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
import { configFromArgs } from "../config/cli.ts";
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
  const config = await configFromArgs(args, USAGE);
  if (typeof config === "number") return config;
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
