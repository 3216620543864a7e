// issue-triage: labels a GitHub issue as it is opened (github.issues.opened, from the github source)
// and sets its priority; an outside system (a destination, a bot) can apply what it publishes.
import { defineAgent } from "./define";

const LABELS: [string, RegExp][] = [
  ["security", /\b(security|vulnerab\w*|cve-\d|xss|csrf|injection|leak(ed|s)?)\b/i],
  ["bug", /\b(bug|crash(es|ed)?|error|exception|broken|fails?|regression|typeerror)\b/i],
  ["enhancement", /\b(feature|proposal|enhancement|would be nice|support for|add(ing)? an? option)\b/i],
  ["documentation", /\b(docs?|documentation|readme|typo)\b/i],
  ["question", /(\?\s*$|\bhow (do|can|to)\b)/im],
];

export default defineAgent({
  name: "issue-triage",
  description: "Suggests labels and a priority for a newly opened GitHub issue from its title and body.",
  subscribes: ["github.issues.opened"],
  emits: ["issue.triaged"],
  handle({ event: { data } }) {
    const text = `${data.issue.title}\n${data.issue.body ?? ""}`;
    const present = new Set(data.issue.labels.map((l) => l.name.toLowerCase()));
    const matched = LABELS.filter(([, pattern]) => pattern.test(text)).map(([label]) => label);
    const labels = matched.filter((label) => !present.has(label));
    const priority: "low" | "normal" | "urgent" = matched.includes("security")
      ? "urgent"
      : matched.includes("bug")
        ? "normal"
        : "low";
    const reasons = matched.length > 0 ? matched.map((l) => `reads like ${l}`) : ["no rule matched: needs a person"];
    const triaged = { repository: data.repository.full_name, number: data.issue.number, labels, priority, reasons };
    return [{ type: "issue.triaged", data: triaged, subject: `${data.repository.full_name}#${data.issue.number}` }];
  },
});
