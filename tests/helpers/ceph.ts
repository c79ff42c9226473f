/**
 * A throw-away one-node Ceph cluster with a RADOS Gateway, for tests against a real, strict S3
 * server. Debian 12's Ceph 16 has no dbstore backend, so this runs a monitor, one OSD on
 * memstore (RAM only, nothing on disk but config and logs) and radosgw, all on 127.0.0.1 with
 * ports chosen at run time, from a temporary directory that `stop()` removes.
 *
 * Needs the Debian packages ceph-mon, ceph-osd, radosgw and ceph-common; `startCeph()` installs
 * them with apt-get when `radosgw` is missing, and throws (failing the test) when it cannot.
 * @module
 */

import { S3Client } from "@aws-sdk/client-s3";

export interface Ceph {
  /** "http://127.0.0.1:<port>" */
  readonly endpoint: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The host name radosgw takes virtual-host-style bucket names under: `<bucket>.s3.localhost`. */
  readonly dnsName: string;
  /** Key of the STS signing secret (rgw_sts_key), for GetSessionToken. */
  readonly dir: string;
  /** Stops radosgw alone (the cluster keeps the data): the store is unreachable. */
  stopGateway(): Promise<void>;
  /** Starts radosgw again on the same port; resolves once it answers. */
  startGateway(): Promise<void>;
  stop(): Promise<void>;
}

const PACKAGES = ["ceph-mon", "ceph-osd", "radosgw", "ceph-common"];

async function has(command: string): Promise<boolean> {
  const { success } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

async function run(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  const { success, stdout, stderr, code } = await child.output();
  const out = new TextDecoder().decode(stdout);
  if (!success) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${code}:\n${out}\n${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return out;
}

/** Installs the Ceph packages unless radosgw is there; throws a clear error when it cannot. */
export async function ensureCephInstalled(): Promise<void> {
  if (await has("radosgw") && await has("ceph-mon") && await has("ceph-osd")) return;
  try {
    const sudo = Deno.uid() === 0 ? [] : ["sudo", "-n"];
    const apt = async (...args: string[]) => {
      const [cmd, ...rest] = [...sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", ...args];
      await run(cmd, rest, 600_000);
    };
    await apt("update", "-qq");
    await apt("install", "-y", "-qq", ...PACKAGES);
  } catch (error) {
    throw new Error(
      `Ceph RADOS Gateway is required for the S3 tests and could not be installed ` +
        `(apt-get install ${PACKAGES.join(" ")}): ${(error as Error).message}`,
    );
  }
  if (!await has("radosgw")) throw new Error("radosgw is still missing after apt-get install");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForHttp(url: string, timeoutMs: number, daemon: Deno.ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  daemon.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error("radosgw exited during start");
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`radosgw did not answer on ${url} within ${timeoutMs} ms`);
}

/**
 * Starts a mon, an OSD and radosgw, creates an S3 user, and resolves once the gateway answers
 * HTTP. Throws with the tail of the daemon logs when a step fails.
 */
export async function startCeph(): Promise<Ceph> {
  await ensureCephInstalled();
  const dir = await Deno.makeTempDir({ prefix: "ceph-test-" });
  const daemons: Deno.ChildProcess[] = [];
  const kill = async (daemon: Deno.ChildProcess) => {
    try {
      daemon.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        daemon.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    await daemon.status;
    clearTimeout(timer);
  };
  const stop = async () => {
    for (const daemon of daemons.reverse()) await kill(daemon);
    daemons.length = 0;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  try {
    const monPort = freePort();
    const rgwPort = freePort();
    const fsid = crypto.randomUUID();
    const conf = `${dir}/ceph.conf`;
    for (const sub of ["mon", "osd", "run", "log", "rgw"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.writeTextFile(
      conf,
      `# Throw-away single-node cluster for tests; every setting is needed:
[global]
# A fresh cluster id per run, so a stale daemon can never join.
fsid = ${fsid}
# One monitor, msgr v2 only, on a free loopback port.
mon_host = [v2:127.0.0.1:${monPort}]
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = false
ms_bind_msgr2 = true
public_addr = 127.0.0.1
# No cephx: nothing to distribute. auth none cannot do msgr2's "secure" mode, which daemons
# (radosgw included) ask the monitor for by default, so every connection uses "crc".
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_mon_cluster_mode = crc
ms_mon_service_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
# Everything the daemons write goes into the temp dir.
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
keyring = ${dir}/keyring
# One OSD: pools of size 1 (allowed explicitly, no warning), CRUSH picks OSDs not hosts.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
# radosgw creates ~7 pools; small ones stay under the PG-per-OSD limit, no mgr autoscaler.
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
[mon]
mon_data = ${dir}/mon
[osd]
osd_data = ${dir}/osd
# RAM-backed object store, capped at 1 GiB.
osd_objectstore = memstore
memstore_device_bytes = 1073741824
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw_data = ${dir}/rgw
# Host name for virtual-host-style requests: <bucket>.s3.localhost.
rgw_dns_name = s3.localhost
# Temporary credentials (STS GetSessionToken); the key encrypts session tokens (16 bytes).
rgw_s3_auth_use_sts = true
rgw_sts_key = ${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}
`,
    );
    const c = ["-c", conf];
    await run("ceph-authtool", [
      "--create-keyring",
      `${dir}/keyring`,
      "--gen-key",
      "-n",
      "mon.",
      "--cap",
      "mon",
      "allow *",
    ]);
    await run("monmaptool", [
      "--create",
      "--fsid",
      fsid,
      "--addv",
      "a",
      `[v2:127.0.0.1:${monPort}]`,
      `${dir}/monmap`,
    ]);
    await run("ceph-mon", [...c, "--mkfs", "-i", "a", "--monmap", `${dir}/monmap`]);
    const spawn = (command: string, args: string[]) => {
      const child = new Deno.Command(command, {
        args: [...c, "-f", ...args],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      daemons.push(child);
      return child;
    };
    spawn("ceph-mon", ["-i", "a"]);
    const osdUuid = crypto.randomUUID();
    const osdId = (await run("ceph", [...c, "--connect-timeout", "20", "osd", "new", osdUuid]))
      .trim();
    await run("ceph-osd", [...c, "-i", osdId, "--mkfs", "--osd-uuid", osdUuid]);
    spawn("ceph-osd", ["-i", osdId]);
    let rgw = spawn("radosgw", ["-n", "client.rgw"]);
    const accessKeyId = `TEST${crypto.randomUUID().replaceAll("-", "").slice(0, 16).toUpperCase()}`;
    const secretAccessKey = crypto.randomUUID().replaceAll("-", "") +
      crypto.randomUUID().replaceAll("-", "").slice(0, 8);
    await run("radosgw-admin", [
      ...c,
      "-n",
      "client.rgw",
      "user",
      "create",
      "--uid",
      "tester",
      "--display-name",
      "tester",
      "--access-key",
      accessKeyId,
      "--secret",
      secretAccessKey,
    ]);
    // Lets the user attach an IAM policy to itself (needed for STS GetSessionToken).
    await run("radosgw-admin", [
      ...c,
      "-n",
      "client.rgw",
      "caps",
      "add",
      "--uid",
      "tester",
      "--caps",
      "user-policy=*",
    ]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitForHttp(endpoint, 60_000, rgw);
    return {
      endpoint,
      port: rgwPort,
      accessKeyId,
      secretAccessKey,
      dnsName: "s3.localhost",
      dir,
      stopGateway: async () => {
        daemons.splice(daemons.indexOf(rgw), 1);
        await kill(rgw);
      },
      startGateway: async () => {
        rgw = spawn("radosgw", ["-n", "client.rgw"]);
        await waitForHttp(endpoint, 60_000, rgw);
      },
      stop,
    };
  } catch (error) {
    const logs: string[] = [];
    const entries = await Array.fromAsync(Deno.readDir(`${dir}/log`)).catch(() => []);
    for (const entry of entries) {
      const text = await Deno.readTextFile(`${dir}/log/${entry.name}`).catch(() => "");
      logs.push(`--- ${entry.name}\n${text.split("\n").slice(-15).join("\n")}`);
    }
    await stop();
    throw new Error(`Cannot start Ceph: ${(error as Error).message}\n${logs.join("\n")}`, {
      cause: error,
    });
  }
}

/** A plain AWS SDK client for the cluster's user, to set up and inspect buckets in tests. */
export function cephClient(ceph: Ceph): S3Client {
  return new S3Client({
    endpoint: ceph.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
