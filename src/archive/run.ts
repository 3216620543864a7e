// What one archive run carries through its batches: its env, the hot window's edge, and what it has
// used of its budgets (D1 statements, R2 puts); and the tally a batch reports.
export interface Run {
  env: Env;
  /** Events received before this (ms since epoch) are past the hot window. */
  cutoff: number;
  now: number;
  statements: number;
  puts: number;
}

export interface Tally {
  examined: number;
  archived: number;
  leftBehind: number;
  objects: number;
  bytes: number;
}
export const tally = (): Tally => ({ examined: 0, archived: 0, leftBehind: 0, objects: 0, bytes: 0 });

export const add = (total: Tally, batch: Tally) => {
  for (const k of Object.keys(total) as (keyof Tally)[]) total[k] += batch[k];
};
