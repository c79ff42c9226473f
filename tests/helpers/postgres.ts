/**
 * A throw-away PostgreSQL server for tests: `initdb` into a temporary directory, `postgres` on a
 * free loopback port, trust authentication, no fsync. Installs the Debian `postgresql` package
 * when no server binaries are found. PostgreSQL refuses to run as root, so as root the server
 * runs as the `postgres` user (or `nobody`) through `setpriv`, owning its directory.
 * @module
 */

import postgres from "postgres";
import { freeTcpPort, run } from "./media.ts";

/** A running server. */
export interface PostgresServer {
  readonly port: number;
  /** URL of the `postgres` database as the superuser `postgres`. */
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Starts a server; rejects (with the server's log) when it is not ready within `timeoutMs`. */
export async function startPostgres(timeoutMs = 30_000): Promise<PostgresServer> {
  const bin = await serverBinaries();
  const dir = await Deno.makeTempDir({ prefix: "pg-" });
  const data = `${dir}/data`;
  const asUser = await runAs(dir);
  await run(
    ...asUser(`${bin}/initdb`, [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]),
    { timeoutMs: 60_000 },
  ); // deno-fmt-ignore
  const port = freeTcpPort();
  const [cmd, args] = asUser(`${bin}/postgres`, [
    "-D",
    data,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${dir}`,
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "shared_buffers=16MB",
  ]); // deno-fmt-ignore
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  let log = "";
  const logDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  const stop = async () => {
    try {
      child.kill("SIGINT"); // fast shutdown
    } catch {
      // Already exited.
    }
    await child.status;
    await logDone;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (await isReady(bin, port)) break;
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`PostgreSQL did not start on port ${port}:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    url,
    async createDatabase(name: string): Promise<string> {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await sql.end({ timeout: 1 });
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    stop,
  };
}

async function isReady(bin: string, port: number): Promise<boolean> {
  const { code } = await new Deno.Command(`${bin}/pg_isready`, {
    args: ["-h", "127.0.0.1", "-p", String(port), "-t", "1"],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/**
 * How to run a server binary: directly, or as root through `setpriv` as the `postgres` user
 * (created by the Debian package) or `nobody`, after giving that user `dir`.
 */
async function runAs(dir: string): Promise<(cmd: string, args: string[]) => [string, string[]]> {
  if (Deno.uid() !== 0) return (cmd, args) => [cmd, args];
  let user = "postgres";
  let uid: number;
  let gid: number;
  try {
    uid = Number((await run("id", ["-u", user])).trim());
    gid = Number((await run("id", ["-g", user])).trim());
  } catch {
    user = "nobody";
    uid = Number((await run("id", ["-u", user])).trim());
    gid = Number((await run("id", ["-g", user])).trim());
  }
  await Deno.chown(dir, uid, gid);
  return (cmd, args) => [
    "setpriv",
    [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", cmd, ...args],
  ];
}

/** The directory of `initdb` and `postgres`, installing the `postgresql` package if need be. */
async function serverBinaries(): Promise<string> {
  const found = await findBinaries();
  if (found) return found;
  // One installer at a time, also across parallel test processes.
  const sudo = Deno.uid() === 0 ? "" : "sudo ";
  await run("flock", [
    "/tmp/live777-test-postgresql-install.lock",
    "sh",
    "-c",
    `ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ` +
    `{ ${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq postgresql; }`,
  ], { timeoutMs: 600_000 }); // deno-fmt-ignore
  const installed = await findBinaries();
  if (!installed) throw new Error("PostgreSQL server binaries not found after installing");
  return installed;
}

async function findBinaries(): Promise<string | undefined> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch {
    // Not installed there.
  }
  for (const version of versions.sort((a, b) => b - a)) {
    const bin = `/usr/lib/postgresql/${version}/bin`;
    if (await exists(`${bin}/initdb`) && await exists(`${bin}/postgres`)) return bin;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await exists(`${dir}/initdb`) && await exists(`${dir}/postgres`)) return dir;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
