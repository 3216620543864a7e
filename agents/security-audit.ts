// security-audit: checks a new user's email, country and signup address against known-bad lists.
import { defineAgent } from "./define";

const BLOCKED_DOMAINS = new Set(["evil.example", "phish.example"]);
const EMBARGOED = new Set(["KP", "IR", "SY", "CU"]);

export default defineAgent({
  name: "security-audit",
  description: "Flags a new user whose email domain, country or signup address is known bad.",
  subscribes: ["user.created"],
  emits: ["security.audited"],
  handle({ event: { data } }) {
    const findings: string[] = [];
    const domain = data.email.split("@")[1]?.toLowerCase() ?? "";
    if (BLOCKED_DOMAINS.has(domain)) findings.push(`email domain ${domain} is blocklisted`);
    if (EMBARGOED.has(data.country)) findings.push(`country ${data.country} is embargoed`);
    if (data.signupIp?.startsWith("10.") || data.signupIp?.startsWith("192.168.")) {
      findings.push(`signup from a private address ${data.signupIp}`);
    }
    const risk = findings.length > 0 ? "high" : "low";
    return [{ type: "security.audited", data: { userId: data.userId, risk, findings } }];
  },
});
