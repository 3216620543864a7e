// The answers' schemas, for /openapi.json: each route's handler is typed against its schema, so the
// document cannot drift from what the code returns. Objects are open (more fields may be added).
import { z } from "zod";

const iso = z.string().nullable().meta({ description: "ISO 8601, UTC" });
const ms = z.number().meta({ description: "ms since the epoch" });
const msOrNull = ms.nullable();
const open = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape);

export const CloudEventSchema = open({
  specversion: z.string(),
  id: z.string(),
  source: z.string(),
  type: z.string(),
  subject: z.string().optional(),
  time: z.string().optional(),
  correlationid: z.string(),
  causationid: z.string().optional(),
  hopcount: z.number(),
  traceparent: z.string().optional(),
  data: z.unknown().optional(),
}).meta({ id: "CloudEvent" });

export const LoggedEventSchema = open({
  seq: z.number().meta({ description: "Position in the log" }),
  receivedAt: ms,
  receivedAtIso: iso,
  loggedAt: ms,
  loggedAtIso: iso,
  event: CloudEventSchema,
}).meta({ id: "LoggedEvent" });

export const ModelCallSchema = open({
  attempt: z.number(),
  ordinal: z.number(),
  tier: z.string(),
  model: z.string(),
  tokens: open({
    input: z.number(),
    output: z.number(),
    cacheRead: z.number(),
    cacheWrite: z.number(),
    cacheWrite1h: z.number(),
    thinking: z.number(),
  }),
  costMicros: z.number().meta({ description: "US$ × 1,000,000" }),
  alwaysEscalateMicros: z.number(),
  latencyMs: z.number(),
  outcome: z.string(),
  confidence: z.number().nullable(),
}).meta({ id: "ModelCall" });

export const RunSchema = open({
  agent: z.string(),
  status: z.string().meta({ description: "running | succeeded | failed | dead_lettered" }),
  attempt: z.number().meta({ description: "The delivery attempt, from 1; 0 while routing's claim awaits its task" }),
  startedAt: ms,
  startedAtIso: iso,
  finishedAt: msOrNull,
  finishedAtIso: iso,
  latencyMs: z.number().nullable(),
  output: z.unknown(),
  error: z.unknown(),
  model: open({
    model: z.string(),
    tier: z.string().nullable(),
    escalated: z.boolean(),
    escalationReason: z.string().nullable(),
    budgetLimited: z.boolean(),
    costMicros: z.number(),
    confidence: z.number().nullable().meta({ description: "What triage answered in the last attempt" }),
  }).nullable(),
  calls: z.array(ModelCallSchema),
  violations: z.array(open({ kind: z.string(), detail: z.string(), recordedAt: ms })),
  steps: z
    .array(
      open({
        step: z.number().meta({ description: "From 0, the same in every attempt" }),
        kind: z.enum(["model", "tool"]),
        tier: z.string(),
        model: z.string().optional(),
        stopReason: z.string().nullable().optional(),
        toolCalls: z.array(z.string()).optional().meta({ description: "The tools a model reply asked for" }),
        tool: z.string().optional(),
        input: z.unknown().optional(),
        result: z.string().optional().meta({ description: "What the model was shown (cut at 2,000 characters)" }),
        isError: z.boolean().optional(),
        costMicros: z.number().optional(),
        latencyMs: z.number(),
        attempt: z.number().meta({ description: "The attempt that took (and paid for) the step" }),
        recordedAt: ms,
      }).meta({ id: "RunStep" }),
    )
    .optional()
    .meta({ description: "A model-backed run's steps: each model reply and tool call, in order" }),
  attempts: z.array(
    open({
      attempt: z.number(),
      status: z.string(),
      startedAt: ms,
      finishedAt: ms,
      error: z.string().optional(),
      costMicros: z.number().optional(),
    }),
  ),
}).meta({ id: "Run" });

export const ViolationSchema = open({
  seq: z.number(),
  eventSource: z.string(),
  eventId: z.string(),
  eventType: z.string().nullable(),
  correlationId: z.string().nullable(),
  agent: z.string().nullable(),
  detectedBy: z.string(),
  kind: z.string(),
  detail: z.string(),
  recordedAt: ms,
}).meta({ id: "Violation" });

export const EventDetailSchema = LoggedEventSchema.extend({
  archived: z.boolean(),
  deliveries: z.array(open({ agent: z.string(), routedAt: ms, held: z.boolean() })),
  runs: z.array(RunSchema),
  violations: z.array(ViolationSchema),
}).meta({ id: "EventDetail" });

export const WorkflowSchema = open({
  id: z.string().meta({ description: "The correlation id" }),
  workflow: z.string(),
  status: z.string().meta({ description: "running | awaiting_approval | completed | rejected | timed_out" }),
  startedAt: ms,
  startedAtIso: iso,
  deadlineAt: ms,
  completedAt: msOrNull,
  completedAtIso: iso,
  durationMs: z.number().nullable(),
  outcome: z.string().nullable(),
  verdict: z.unknown(),
  late: z.array(z.string()),
}).meta({ id: "Workflow" });

export interface TreeNodeShape {
  id: string;
  type: string;
  runs: unknown[];
  children: TreeNodeShape[];
}
export const TreeNodeSchema: z.ZodType<TreeNodeShape> = z
  .lazy(() =>
    open({
      id: z.string(),
      source: z.string(),
      type: z.string(),
      receivedAt: ms,
      loggedAt: ms,
      late: z.boolean(),
      data: z.unknown(),
      runs: z.array(RunSchema),
      children: z.array(TreeNodeSchema),
    }),
  )
  .meta({ id: "TreeNode" });

export const WorkflowDetailSchema = open({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  outcome: z.string().nullable(),
  verdict: z.unknown(),
  instances: z.array(WorkflowSchema),
  events: z.array(TreeNodeSchema),
}).meta({ id: "WorkflowDetail" });

export const DeadLetterSchema = open({
  id: z.number(),
  kind: z.string(),
  agent: z.string().nullable(),
  attempts: z.number(),
  status: z.string(),
}).meta({ id: "DeadLetter" });

const listed = {
  eventSource: z.string(),
  eventId: z.string(),
  type: z.string().nullable(),
  correlationId: z.string().nullable(),
  hopcount: z.number().nullable(),
};

export const ParkedSchema = open({
  ...listed,
  reason: z.string().meta({ description: "hop_limit | correlation_cap" }),
  parkedAt: ms,
  parkedAtIso: iso,
}).meta({ id: "ParkedEvent" });

export const UnroutedSchema = open({ ...listed, loggedAt: ms, loggedAtIso: iso }).meta({ id: "UnroutedEvent" });

export const DuplicateSchema = open({
  ...listed,
  kind: z.enum(["event", "delivery"]),
  agent: z.string().nullable(),
  count: z.number(),
  firstAt: ms,
  firstAtIso: iso,
  lastAt: ms,
  lastAtIso: iso,
}).meta({ id: "SuppressedDuplicate" });

export const LateSchema = open({
  ...listed,
  eventSource: z.string().nullable(),
  workflowId: z.string(),
  workflow: z.string(),
  status: z.string(),
  completedAt: msOrNull,
  completedAtIso: iso,
  loggedAt: msOrNull,
  loggedAtIso: iso,
}).meta({ id: "LateResult" });

export const AcceptedSchema = z
  .object({ accepted: z.array(z.object({ id: z.string(), duplicate: z.boolean() })) })
  .meta({ id: "Accepted" });

/** What answers we document only by their main fields. */
export const Loose = z.looseObject({});
