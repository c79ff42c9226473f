/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: every sample must
 * belong to a family announced by `# HELP` and `# TYPE` before it, names and labels must be
 * well formed, and values must be numbers.
 * @module
 */

/** The samples of one scrape by series ("name" or `name{label="value",…}` as written). */
export interface Scrape {
  readonly samples: Map<string, number>;
  /** Family name → type. */
  readonly types: Map<string, string>;
  /** The value of `name` with `labels`, or undefined when there is no such series. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/;

/** Parses `text`; throws with the line number on anything out of format. */
export function parseMetrics(text: string): Scrape {
  if (!text.endsWith("\n")) throw new Error("Metrics text must end with a line feed");
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  text.slice(0, -1).split("\n").forEach((line, i) => {
    const where = `line ${i + 1} ${JSON.stringify(line)}`;
    if (line.startsWith("# HELP ")) {
      const name = line.slice(7).split(" ")[0];
      if (!NAME.test(name)) throw new Error(`Bad family name at ${where}`);
      if (helps.has(name)) throw new Error(`Second HELP at ${where}`);
      helps.add(name);
      return;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, ...rest] = line.slice(7).split(" ");
      if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(type) || rest.length) {
        throw new Error(`Bad TYPE at ${where}`);
      }
      if (types.has(name)) throw new Error(`Second TYPE at ${where}`);
      types.set(name, type);
      return;
    }
    if (line.startsWith("#") || line === "") throw new Error(`Unexpected line at ${where}`);
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`Bad sample at ${where}`);
    const [, name, , labelText, valueText] = m;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    if (!types.has(family) || !helps.has(family)) {
      throw new Error(`Sample before its HELP and TYPE at ${where}`);
    }
    if (family !== name && types.get(family) !== "histogram") {
      throw new Error(`Suffix on a non-histogram at ${where}`);
    }
    let rest = labelText ?? "";
    const labels: string[] = [];
    while (rest !== "") {
      const lm = LABEL.exec(rest);
      if (!lm) throw new Error(`Bad labels at ${where}`);
      labels.push(`${lm[1]}="${lm[2]}"`);
      rest = rest.slice(lm[0].length);
    }
    const value = valueText === "+Inf"
      ? Infinity
      : valueText === "-Inf"
      ? -Infinity
      : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") throw new Error(`Bad value at ${where}`);
    const series = labels.length ? `${name}{${labels.join(",")}}` : name;
    if (samples.has(series)) throw new Error(`Duplicate series at ${where}`);
    samples.set(series, value);
  });
  return {
    samples,
    types,
    value(name, labels = {}) {
      const entries = Object.entries(labels).map(([k, v]) =>
        `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
      );
      return samples.get(entries.length ? `${name}{${entries.join(",")}}` : name);
    },
  };
}
