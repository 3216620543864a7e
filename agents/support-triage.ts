// support-triage: classifies an incoming support ticket and drafts a first reply. Model-backed, with
// a tool that reads the customer's earlier tickets and orders from the log; tickets with legal or
// fraud language always go to the escalation tier.
import { z } from "zod";
import { defineAgent, defineTool } from "./define";

const Triage = z.object({
  category: z.enum(["billing", "shipping", "product", "account", "fraud", "other"]),
  priority: z.enum(["low", "normal", "urgent"]),
  summary: z.string().min(1).max(300),
  suggestedReply: z.string().max(2000),
});

const KEYWORDS: [z.infer<typeof Triage>["category"], RegExp][] = [
  ["fraud", /\b(fraud|unauthori[sz]ed|stolen|chargeback|scam)\b/i],
  ["billing", /\b(refund|charged?|invoice|payment|billing|price)\b/i],
  ["shipping", /\b(deliver(y|ed)?|shipping|package|parcel|tracking|arrived?|late)\b/i],
  ["account", /\b(password|login|log in|account|email address)\b/i],
  ["product", /\b(broken|defective|doesn'?t work|quality|size|damaged)\b/i],
];
/**
 * Read-only: what the log holds about the ticket's customer. The model decides whether it needs it,
 * never whose history it reads: a ticket that talks the model into asking for another customer gets
 * an error back, not their data.
 */
const customerHistory = defineTool({
  description:
    "The customer's earlier support tickets and orders (newest first, up to 20 of each), from the event log. Only the ticket's own customer can be looked up.",
  input: z.object({ customerId: z.string().min(1).max(128) }),
  run: ({ customerId }, { ctx, event }) => {
    const own = (event.data as { customerId?: unknown }).customerId;
    if (customerId !== own) throw new Error("only the ticket's own customer can be looked up");
    return ctx.history.ofCustomer(customerId, { except: event.id });
  },
});

const URGENT = /\b(urgent|immediately|asap|lawyer|legal|chargeback|stolen)\b/i;

export default defineAgent({
  name: "support-triage",
  description: "Classifies a support ticket (category, priority), summarises it and drafts a reply.",
  subscribes: ["support.ticket.opened"],
  emits: ["support.ticket.triaged"],
  model: {
    instructions: `Triage one customer support ticket for an online shop.

Pick the category that best fits (billing, shipping, product, account, fraud, other) and a priority:
urgent for fraud, legal threats, or a customer who cannot use what they paid for; low for questions
and feedback; normal otherwise. Summarise the problem in one sentence from the customer's point of
view. Draft a short, polite first reply that acknowledges the problem and says what happens next;
never promise refunds or dates. Look up the customer's history when earlier tickets or orders would
change the category or the priority (a repeat complaint is more urgent).`,
    output: Triage,
    tools: { customer_history: customerHistory },
    maxTurns: 4,
    confidenceThreshold: 0.7,
    escalateWhen: ({ data }) =>
      /\b(lawyer|legal action|sue|chargeback|data breach)\b/i.test(`${data.subject} ${data.body}`)
        ? "legal or chargeback language"
        : undefined,
    local: ({ data }) => {
      const text = `${data.subject} ${data.body}`;
      const matches = KEYWORDS.filter(([, pattern]) => pattern.test(text));
      const category = matches[0]?.[0] ?? "other";
      const priority: z.infer<typeof Triage>["priority"] =
        URGENT.test(text) || category === "fraud" ? "urgent" : category === "other" ? "low" : "normal";
      return {
        decision: {
          category,
          priority,
          summary: data.subject.slice(0, 300),
          suggestedReply: `Thank you for contacting us about "${data.subject.slice(0, 100)}". A member of our ${category} team will look into it and reply soon.`,
        },
        // One clear keyword match is a confident call; none or several is not.
        confidence: matches.length === 1 ? 0.9 : 0.5,
      };
    },
  },
  handle: ({ event, decision }) => [
    {
      type: "support.ticket.triaged",
      data: {
        ticketId: event.data.ticketId,
        customerId: event.data.customerId,
        subject: event.data.subject,
        body: event.data.body,
        ...decision,
      },
    },
  ],
});
