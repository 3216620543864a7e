// reply-policy: the evaluator of the support-reply loop. A model scores a draft against the policy
// (tone, promises, data it must not leak) and says what to fix; the same policy also runs in code
// as the agent's guard, so a model that passes a leaking draft is overruled (and it is recorded).
import { z } from "zod";
import { defineAgent } from "./define";
import { policyProblems } from "./support-policy";

const Evaluation = z.object({
  pass: z.boolean(),
  score: z.number().min(0).max(1),
  feedback: z.array(z.string().max(500)).max(10),
});

export default defineAgent({
  name: "reply-policy",
  description: "Checks a drafted support reply against the policy and says what must change.",
  subscribes: ["support.reply.drafted"],
  emits: ["support.reply.evaluated"],
  model: {
    instructions: `Evaluate one drafted reply to a customer. It passes only if it is polite and specific,
makes no promise of refunds, compensation, dates or times, and contains no email address, phone
number, card or account number, other customer's details, or internal notes or scores. Score it from
0 to 1; when it fails, list each thing to change as one short, concrete instruction.`,
    output: Evaluation,
    confidenceThreshold: 0.6,
    local: ({ data }) => {
      const problems = policyProblems(data.reply, data.customerId);
      return {
        decision: { pass: problems.length === 0, score: problems.length === 0 ? 0.9 : 0.2, feedback: problems },
        confidence: 0.95,
      };
    },
    // The floor: whatever the model says, a draft that breaks the policy does not pass.
    guard: ({ data }, decision) => {
      const problems = policyProblems(data.reply, data.customerId);
      if (!decision.pass || problems.length === 0) return undefined;
      return {
        decision: { pass: false, score: Math.min(decision.score, 0.2), feedback: problems },
        reason: `passed a draft that breaks the policy: ${problems.join("; ")}`,
      };
    },
  },
  handle: ({ event, decision }) => [
    {
      type: "support.reply.evaluated",
      data: {
        ticketId: event.data.ticketId,
        round: event.data.round,
        ...decision,
        violations: policyProblems(event.data.reply, event.data.customerId),
      },
    },
  ],
});
