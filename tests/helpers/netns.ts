/**
 * A throwaway Linux network namespace for tests whose peers must not see the machine's own
 * interfaces (Chromium offers every address it finds as an ICE candidate): loopback up, plus one
 * veth pair with a private address, both ends inside the namespace, so no packet can leave it.
 * Needs root (`ip netns add`).
 * @module
 */

import { run } from "./media.ts";

/** Options of {@linkcode NetworkNamespace.create}. */
export interface NetworkNamespaceOptions {
  /** The private address of the namespace's veth interface (a /24). @default "10.77.0.1" */
  readonly address?: string;
}

/** A network namespace; `await using` deletes it and ends what still runs in it. */
export class NetworkNamespace {
  /** The namespace's name for `ip netns`. */
  readonly name: string;
  /** The private (non-loopback) address inside the namespace. */
  readonly address: string;

  private constructor(name: string, address: string) {
    this.name = name;
    this.address = address;
  }

  /**
   * Creates the namespace: `lo` up, `veth0` with `address`/24 and its peer `veth1`, both up.
   *
   * @example
   * ```ts ignore
   * await using ns = await NetworkNamespace.create();
   * const out = await run("ip", ["netns", "exec", ns.name, "ip", "-4", "addr"]);
   * ```
   */
  static async create(options: NetworkNamespaceOptions = {}): Promise<NetworkNamespace> {
    const name = `l7r-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const address = options.address ?? "10.77.0.1";
    try {
      await run("ip", ["netns", "add", name], { timeoutMs: 10_000 });
    } catch (error) {
      throw new Error(`Cannot create network namespace "${name}" (root needed)`, { cause: error });
    }
    const ns = new NetworkNamespace(name, address);
    try {
      const ip = (...args: string[]) => run("ip", ["-n", name, ...args], { timeoutMs: 10_000 });
      await ip("link", "set", "lo", "up");
      await ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
      await ip("addr", "add", `${address}/24`, "dev", "veth0");
      await ip("link", "set", "veth0", "up");
      await ip("link", "set", "veth1", "up");
    } catch (error) {
      await ns.delete();
      throw error;
    }
    return ns;
  }

  /** `ip netns exec <name> cmd …args`: the arguments of a command that runs inside. */
  exec(cmd: string, args: readonly string[]): { cmd: string; args: string[] } {
    return { cmd: "ip", args: ["netns", "exec", this.name, cmd, ...args] };
  }

  /** Kills (SIGKILL) every process still inside the namespace, then deletes it. */
  async delete(): Promise<void> {
    const pids = await run("ip", ["netns", "pids", this.name], { timeoutMs: 10_000 })
      .catch(() => "");
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await run("ip", ["netns", "delete", this.name], { timeoutMs: 10_000 }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}
