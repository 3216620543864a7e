// One typed linter: typescript-eslint's type-checked rules over src, agents, test and scripts.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

/** A folder's import boundary: any import matching `regex` is an error with `message`. */
const layer = (files, regex, message) => [
  { files: [files], rules: { "no-restricted-imports": ["error", { patterns: [{ regex, message }] }] } },
];

export default tseslint.config(
  {
    ignores: [
      "node_modules",
      ".wrangler",
      "public/console/assets/vendor",
      "worker-configuration.d.ts",
      "*.config.mjs",
      "*.config.mts",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-floating-promises": "error",
    },
  },
  // The one-way flow, enforced: each folder may import only what sits below it (README → Architecture).
  ...layer(
    "src/db/**",
    "^\\.\\./(?!log$|bus/envelope$)",
    "src/db imports nothing above it (only ../log and ../bus/envelope)",
  ),
  ...layer(
    "src/bus/**",
    "^\\.\\./(?!log$|db/)",
    "src/bus holds envelope, catalog, subscriptions and publish; it imports only db and log",
  ),
  ...layer("src/models/**", "^\\.\\./(?!log$)", "src/models is a leaf: only ../log"),
  ...layer(
    "src/ingest/**",
    "^\\.\\./(consumers|runtime|coordinator|sweep|http|worker|registry)(/|$)",
    "ingest comes before the queues: nothing downstream",
  ),
  ...layer(
    "src/runtime/**",
    "^\\.\\./(consumers|http|ingest|sweep|worker|coordinator)(/|$)",
    "runtime runs one delivery: no consumers, http, ingest or coordinator",
  ),
  ...layer(
    "src/coordinator/**",
    "^\\.\\./(consumers|http|ingest|sweep|worker|runtime)(/|$)",
    "the coordinator joins results: no consumers, http, ingest or runtime",
  ),
  ...layer(
    "src/archive/**",
    "^\\.\\./(consumers|http|ingest|runtime|coordinator|sweep|worker|registry|models)(/|$)",
    "the archive moves and reads the log: db, bus/envelope, config and log only",
  ),
  ...layer(
    "src/consumers/**",
    "^\\.\\./(http|ingest|sweep|worker)(/|$)",
    "queue consumers do not call http, ingest or the sweep",
  ),
  ...layer(
    "src/console/**",
    "^(\\.\\./)+(consumers|runtime|coordinator|sweep|archive|models|ingest|bus|worker)(/|$)|^(\\.\\./)+db/(?!sessions$)",
    "the console goes through the /v1 API like curl: only its own sessions table, http/auth, config, log and the registry",
  ),
  ...layer(
    "src/sources/**",
    "^\\.\\./(consumers|runtime|coordinator|sweep|http|worker|archive|models|console)(/|$)",
    "sources verify and map webhooks, then hand them to ingest: nothing downstream",
  ),
  ...layer("src/alerts/**", "^\\.\\./(?!log$|bus/)", "alerts are events: they import only the bus and the log"),
  ...layer(
    "src/destinations/**",
    "^\\.\\./(consumers|runtime|coordinator|sweep|http|worker|archive|models|console|sources|registry|db)(/|$)",
    "destinations build and send one HTTP request: bus/envelope, ingest's MACs, log only",
  ),
  ...layer("src/http/**", "^\\.\\./(consumers|worker)(/|$)", "http goes through the bus, never into a consumer"),
  ...layer(
    "agents/**",
    "^(?!zod$|\\.{1,2}/)|^(\\.\\./)+src/(?!define$)",
    "agents import zod, each other and src/define only",
  ),
  // The console's client scripts: plain browser modules, type-checked from their JSDoc by
  // public/tsconfig.json, which knows the browser's globals (no-undef would only repeat it, wrongly).
  { files: ["public/**/*.js"], rules: { "no-undef": "off" } },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
