/**
 * Reads a V8 `.cpuprofile` (what `deno run --cpu-prof` writes) and ranks functions by self time.
 * Usage: `deno run -A bench/profile.ts <file.cpuprofile> [top]`.
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One line of the ranking. */
export interface ProfileEntry {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

/** Self time per function (name and location), largest first. */
export function rankProfile(profile: Profile, top = 15): ProfileEntry[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName === "(idle)") continue;
    total += us;
    const file = url.replace(/^.*\/(node_modules|ext|lib|bench|main)\//, "$1/");
    const where = url ? `${file}:${lineNumber + 1}` : "";
    const key = `${functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || "(anonymous)", where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => ({
    name: e.name,
    where: e.where,
    selfMs: Math.round(e.us / 1000),
    selfPct: Math.round(e.us / total * 1000) / 10,
  }));
}

if (import.meta.main) {
  const profile = JSON.parse(await Deno.readTextFile(Deno.args[0])) as Profile;
  for (const e of rankProfile(profile, Number(Deno.args[1] ?? 25))) {
    console.log(
      `${String(e.selfPct).padStart(5)}% ${String(e.selfMs).padStart(6)} ms  ${e.name}  ${e.where}`,
    );
  }
}
