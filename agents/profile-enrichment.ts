// profile-enrichment: derives what a new user's email says about them (company, disposable address).
import { defineAgent } from "./define";

const DISPOSABLE = new Set(["mailinator.com", "10minutemail.com", "guerrillamail.com", "trashmail.com"]);
const FREEMAIL = new Set(["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]);

export default defineAgent({
  name: "profile-enrichment",
  description: "Enriches a new user's profile from their email domain.",
  subscribes: ["user.created"],
  emits: ["profile.enriched"],
  handle({ event: { data } }) {
    const emailDomain = data.email.split("@")[1]?.toLowerCase() ?? "";
    const company = FREEMAIL.has(emailDomain) || DISPOSABLE.has(emailDomain) ? undefined : emailDomain.split(".")[0];
    return [
      {
        type: "profile.enriched",
        data: {
          userId: data.userId,
          emailDomain,
          disposableEmail: DISPOSABLE.has(emailDomain),
          ...(company ? { company } : {}),
        },
      },
    ];
  },
});
