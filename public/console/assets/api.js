// The console's one way to agentwire: the same /v1 API curl uses, with the session cookie (same
// origin) and, on every change, the session's CSRF token. A 401 sends the browser to sign in again.

/** @type {string} */
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Back to the sign-in page, which returns here afterwards. */
export function signInAgain() {
  const next = location.pathname + location.search;
  location.assign(`/console/sign-in?next=${encodeURIComponent(next)}`);
}

/**
 * Calls the API; resolves with the JSON answer, rejects with an ApiError carrying its code and message.
 * The caller names the shape it expects with a JSDoc cast of the result.
 * @param {string} path
 * @param {{ method?: "GET" | "POST", body?: unknown }} [options]
 * @returns {Promise<unknown>}
 */
export async function api(path, options = {}) {
  const method = options.method ?? "GET";
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? null : JSON.stringify(options.body),
  });
  if (res.status === 401) {
    signInAgain();
    throw new ApiError(401, "unauthorized", "the session has ended");
  }
  /** @type {unknown} */
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    // not JSON: said below by the status alone
  }
  if (!res.ok) {
    const { code, message } = errorOf(answer);
    throw new ApiError(res.status, code ?? `http_${res.status}`, message ?? res.statusText);
  }
  return answer;
}

/**
 * The API's error shape, {"error":{"code","message"}}, read from whatever came back.
 * @param {unknown} answer
 * @returns {{ code?: string, message?: string }}
 */
function errorOf(answer) {
  if (typeof answer !== "object" || answer === null || !("error" in answer)) return {};
  const e = answer.error;
  if (typeof e !== "object" || e === null) return {};
  return {
    ...("code" in e && typeof e.code === "string" ? { code: e.code } : {}),
    ...("message" in e && typeof e.message === "string" ? { message: e.message } : {}),
  };
}

/**
 * A query string from the given values, leaving out empty ones.
 * @param {Record<string, string | number | null | undefined>} values
 */
export function queryOf(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : "";
}

/**
 * What went wrong, in one line.
 * @param {unknown} error
 */
export function describe(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code}, HTTP ${error.status})`;
  return error instanceof Error ? error.message : String(error);
}
