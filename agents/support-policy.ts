// The support reply policy, in code: what a reply to a customer must never do, whatever a model says.
// The evaluator agent's guard and the support-reply workflow's judge both run it, so an evaluator
// (or a model pretending to be one) approving a reply that breaks it changes nothing.

const RULES: { what: string; pattern: RegExp }[] = [
  // Promises it must not make.
  { what: "promises a refund", pattern: /\b(we will|we'll|i will|i'll|guarantee[sd]?)\b[^.]{0,40}\brefund/i },
  {
    what: "says a refund is approved or issued",
    pattern: /\brefund\b[^.]{0,30}\b(approved|issued|processed|on its way)\b/i,
  },
  {
    what: "promises a date or a time",
    pattern:
      /\b(by (monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight)|within \d+ (hours?|days?)|guaranteed? (delivery|arrival))\b/i,
  },
  {
    what: "promises compensation",
    pattern: /\b(we will|we'll)\b[^.]{0,30}\b(compensate|credit your account|give you a discount)\b/i,
  },
  // Tone.
  {
    what: "is rude or blames the customer",
    pattern: /\b(stupid|idiot|your (own )?fault|calm down|obviously you|as i already said)\b/i,
  },
  // Data it must not leak.
  { what: "contains an email address", pattern: /[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/i },
  { what: "contains a card or account number", pattern: /\b(?:\d[ -]?){13,19}\b/ },
  { what: "contains a phone number", pattern: /(?:\+\d{1,3}[ -]?)?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{4}\b/ },
  {
    what: "mentions internal notes or scores",
    pattern: /\b(internal note|fraud score|risk score|chargeback history|flagged as fraud)\b/i,
  },
];

/** What is wrong with `reply` to this customer: empty when it respects the policy. */
export function policyProblems(reply: string, customerId: string): string[] {
  const problems = RULES.filter((r) => r.pattern.test(reply)).map((r) => `the reply ${r.what}`);
  const others = [...reply.matchAll(/\bcus_[A-Za-z0-9]+\b/g)].map((m) => m[0]).filter((id) => id !== customerId);
  if (others.length > 0) problems.push(`the reply names another customer (${[...new Set(others)].join(", ")})`);
  return problems;
}
