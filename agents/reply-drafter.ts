// reply-drafter: writes the reply to a support ticket for the support-reply workflow, round after
// round, taking the policy evaluator's feedback. Model-backed; the last round drafts on the
// escalation tier (the stronger model) before a person is asked.
import { z } from "zod";
import { defineAgent } from "./define";

const LAST_ROUND = 3;

const Draft = z.object({ reply: z.string().min(1).max(4000) });

export default defineAgent({
  name: "reply-drafter",
  description: "Drafts a customer's support reply, revising it with the evaluator's feedback.",
  subscribes: ["support.reply.requested"],
  emits: ["support.reply.drafted"],
  model: {
    instructions: `Write the reply to one customer support ticket for an online shop: short, warm, specific
to what the customer wrote, and honest about what happens next. Never promise refunds, compensation,
dates or times; never include email addresses, phone numbers, card or account numbers, other
customers' details, or internal notes and scores. When the event carries feedback on a previous
draft, fix every point it raises and keep what was good.`,
    output: Draft,
    escalateWhen: ({ data }) =>
      data.round >= LAST_ROUND ? `round ${data.round}: the stronger model drafts` : undefined,
    local: ({ data }) => ({
      decision: {
        reply: `Hello, thank you for writing to us about "${data.subject.slice(0, 120)}". We are sorry for the trouble. Our ${data.category} team is looking into it and will write to you again as soon as they know more.`,
      },
      confidence: 0.9,
    }),
  },
  handle: ({ event, decision }) => [
    {
      type: "support.reply.drafted",
      data: {
        ticketId: event.data.ticketId,
        customerId: event.data.customerId,
        round: event.data.round,
        reply: decision.reply,
      },
    },
  ],
});
