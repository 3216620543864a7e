// Markdown tables for the benchmarks' output, padded the way prettier pads them, so that they can go
// into BENCHMARKS.md as printed.

/** A table with a header row; cells left-aligned and padded to the widest cell of their column. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** "1,234 ms", or "—" for a missing figure. */
export const ms = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "—" : `${Math.round(value).toLocaleString("en-US")} ms`;

/** A figure with `digits` decimals and a unit, or "—". */
export const num = (value: number | undefined, digits = 0, unit = ""): string =>
  value === undefined || !Number.isFinite(value)
    ? "—"
    : `${value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit}`;

export const percent = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "—" : `${Math.round(value * 100)}%`;

/** a / b as "2.4×" (two significant digits), or "—" when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "—";
  const r = a / b;
  return `${r >= 10 ? Math.round(r).toLocaleString("en-US") : r.toPrecision(2)}×`;
}
