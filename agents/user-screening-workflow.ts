// The user-screening workflow: a security audit and a profile enrichment run in parallel; their
// verdicts clear or flag the new user. When they disagree, the security audit outranks enrichment;
// at the deadline, whatever has arrived decides (a missing audit leaves the user flagged).
import { all, approve, defineWorkflow, reject } from "./define";

export default defineWorkflow({
  name: "user-screening",
  description: "Clears or flags a new user from a security audit and a profile enrichment.",
  startsOn: "user.created",
  join: all("security.audited", "profile.enriched"),
  deadlineMs: 20_000,
  onTimeout: "decide",
  votes: {
    "security.audited": ({ data }) =>
      data.risk === "high" ? reject(data.findings.join("; ")) : approve("security audit clean"),
    "profile.enriched": ({ data }) =>
      data.disposableEmail ? reject(`disposable email domain ${data.emailDomain}`) : approve("profile looks genuine"),
  },
  conflicts: { priority: ["security.audited", "profile.enriched"] },
  emits: ["user.cleared", "user.flagged"],
  decide: ({ start, results, verdict, missing }) => {
    const audited = results["security.audited"] !== undefined;
    if (verdict.decision === "approve" && audited) {
      return { type: "user.cleared", data: { userId: start.data.userId, reasons: verdict.reasons } };
    }
    const why =
      missing.length > 0 ? [...verdict.reasons, `no result in time from: ${missing.join(", ")}`] : verdict.reasons;
    return { type: "user.flagged", data: { userId: start.data.userId, reasons: why } };
  },
});
