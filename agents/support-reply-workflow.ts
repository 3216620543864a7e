// The support-reply workflow: a refine loop. The drafter writes a reply, the policy evaluator checks
// it, and the workflow sends it back with the feedback until it passes or three rounds are spent;
// then a person decides. Every round is events in the log (support.reply.requested/drafted/evaluated
// with its round), and the judge re-runs the policy in code: an evaluator's pass cannot ship a leak.
import { approve, defineWorkflow, reject, review } from "./define";
import { policyProblems } from "./support-policy";

const MAX_ROUNDS = 3;

export default defineWorkflow({
  name: "support-reply",
  description: "Drafts a support reply and refines it against the policy, up to three rounds, then a person.",
  startsOn: "support.ticket.triaged",
  refine: {
    draft: "support.reply.drafted",
    evaluation: "support.reply.evaluated",
    maxRounds: MAX_ROUNDS,
    request: ({ start, results, round }) => {
      const evaluation = results["support.reply.evaluated"]?.data;
      const previous = results["support.reply.drafted"]?.data;
      return {
        type: "support.reply.requested",
        data: {
          ticketId: start.data.ticketId,
          customerId: start.data.customerId,
          subject: start.data.subject,
          body: start.data.body,
          category: start.data.category,
          round,
          feedback: evaluation ? [...evaluation.feedback, ...evaluation.violations].slice(0, 20) : [],
          ...(previous ? { previousReply: previous.reply } : {}),
        },
      };
    },
    judge: ({ start, results }) => {
      const draft = results["support.reply.drafted"]?.data;
      const evaluation = results["support.reply.evaluated"]?.data;
      if (!draft || !evaluation) return reject("the round has no draft or no evaluation");
      const problems = policyProblems(draft.reply, start.data.customerId);
      if (problems.length > 0) return reject(problems.join("; "));
      if (start.data.category === "fraud" && evaluation.pass) return review("fraud tickets are answered by a person");
      return evaluation.pass
        ? approve(`passed the policy on round ${draft.round}`)
        : reject(evaluation.feedback.join("; "));
    },
  },
  deadlineMs: 10 * 60_000,
  onTimeout: "approval",
  emits: [
    "support.reply.requested",
    "support.reply.approved",
    "support.reply.review_requested",
    "support.reply.rejected",
  ],
  decide: ({ start, results, verdict, round }) => {
    const reply = results["support.reply.drafted"]?.data.reply;
    if (verdict.decision === "approve" && reply) {
      return {
        type: "support.reply.approved",
        data: { ticketId: start.data.ticketId, reply, rounds: round ?? 0, reasons: verdict.reasons },
      };
    }
    return {
      type: "support.reply.rejected",
      data: { ticketId: start.data.ticketId, rounds: round ?? 0, reasons: verdict.reasons },
    };
  },
  approval: {
    deadlineMs: 24 * 3_600_000,
    onTimeout: "deny",
    request: ({ start, results, verdict, round }) => {
      const reply = results["support.reply.drafted"]?.data.reply;
      return {
        type: "support.reply.review_requested",
        data: {
          ticketId: start.data.ticketId,
          ...(reply ? { reply } : {}),
          rounds: round ?? 0,
          reasons: verdict.reasons,
        },
      };
    },
  },
});
