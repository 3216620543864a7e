// What this app's agents may use. The registry lends these to every handler and tool as `ctx`;
// replacing the domain means replacing this file and its neighbours, not anything in src/.
import { d1History } from "./history";
import { d1Stock } from "./stock";

export const capabilities = (env: Env) => ({ stock: d1Stock(env.DB), history: d1History(env.DB) });
