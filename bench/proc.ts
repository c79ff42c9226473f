/**
 * Readings of a process from Linux's /proc: CPU time (`stat`: utime + stime, every thread) and
 * resident memory (`status`: VmRSS).
 * @module
 */

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux x86-64). */
const CLK_TCK = 100;

/**
 * CPU seconds (user + system) `pid` has used so far, or only its thread `tid` (the main thread
 * has tid = pid); NaN when it is gone.
 */
export function cpuSeconds(pid: number, tid?: number): number {
  let text: string;
  try {
    text = Deno.readTextFileSync(
      tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    );
  } catch {
    return NaN;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size of `pid` in bytes; NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The machine: CPU model and count, from /proc/cpuinfo. */
export function machine(): { cpuModel: string; cores: number } {
  const info = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? "unknown";
  return { cpuModel: model, cores: (info.match(/^processor\s*:/gm) ?? []).length };
}

/** The UDP ports bound on this machine (IPv4), from /proc/net/udp. */
export function boundUdpPorts(): Set<number> {
  const ports = new Set<number>();
  for (const line of Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    if (local) ports.add(parseInt(local.split(":")[1], 16));
  }
  return ports;
}

/** Samples a process's RSS every `everyMs` until stopped. */
export class RssSampler {
  readonly samples: { atMs: number; bytes: number }[] = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(pid: number, everyMs: number) {
    const take = () => {
      const bytes = rssBytes(pid);
      if (!Number.isNaN(bytes)) this.samples.push({ atMs: Date.now(), bytes });
    };
    take();
    this.#timer = setInterval(take, everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Least-squares slope of RSS over the samples after `skipFraction` of them, MB per minute. */
  driftMbPerMin(skipFraction = 0.25): number {
    const points = this.samples.slice(Math.floor(this.samples.length * skipFraction));
    if (points.length < 3) return NaN;
    const xs = points.map((p) => p.atMs / 60_000);
    const ys = points.map((p) => p.bytes / 2 ** 20);
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += (xs[i] - mx) * (ys[i] - my);
      den += (xs[i] - mx) ** 2;
    }
    return den === 0 ? NaN : num / den;
  }

  get peakBytes(): number {
    return Math.max(...this.samples.map((s) => s.bytes));
  }
}

/** The machine-wide count of UDP datagrams dropped because a socket's buffer was full. */
export function udpRcvbufErrors(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf("RcvbufErrors")]);
}

/** CPU seconds the whole machine has been busy (every core, every process), from /proc/stat. */
export function machineBusySeconds(): number {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3] - fields[4]) / CLK_TCK;
}
