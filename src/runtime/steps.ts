// A run's steps as it takes them: recorded ones are replayed in order (nothing is paid or run twice),
// then new ones are numbered after them and recorded before the next step starts. How a replay
// treats recorded model outputs is the task's choice: resume (the default: replay, then continue),
// recorded (replay only — a missing model step fails the run instead of calling a model), or fresh
// (ignore them, decide again and record over them).
import type { Step } from "../db/steps";
import { ModelRunError } from "./tier-types";

export type StepMode = "resume" | "recorded" | "fresh";

export class StepLog {
  private cursor = 0;
  private diverged = false;

  constructor(
    private readonly recorded: readonly Step[],
    readonly mode: StepMode,
    readonly attempt: number,
    private readonly write: (step: Step) => Promise<void>,
  ) {}

  /** A log that records nowhere (the local model, or a test of the tier policy alone). */
  static none(): StepLog {
    return new StepLog([], "fresh", 1, async () => {});
  }

  /**
   * The recorded model step at the cursor, if it is the call the run is about to make (same kind,
   * tier and model); it is then taken. A step that is not (the agent or its lineup changed) ends
   * replay: from there on the run decides afresh and its new steps replace the old.
   */
  replayModel(tier: string, model: string): Extract<Step, { kind: "model" }> | undefined {
    const step = this.peek();
    if (!step) return this.missing(`model call ${this.cursor}`);
    if (step.kind !== "model" || step.tier !== tier || step.model !== model) {
      this.diverged = true;
      return this.missing(`model call ${this.cursor} (the recorded step is ${describe(step)})`);
    }
    this.cursor++;
    return step;
  }

  /** The recorded result of tool step `n` (numbered by take), if any. */
  recordedTool(n: number, tool: string): Extract<Step, { kind: "tool" }> | undefined {
    if (this.mode === "fresh" || this.diverged) return undefined;
    const step = this.recorded.find((s) => s.step === n);
    return step?.kind === "tool" && step.tool === tool ? step : undefined;
  }

  /** The next step number, for a step about to be taken live. */
  take(): number {
    return this.cursor++;
  }

  /** Records a completed step; the next step starts only after this resolves. */
  record(step: Step): Promise<void> {
    return this.write(step);
  }

  private peek(): Step | undefined {
    if (this.mode === "fresh" || this.diverged) return undefined;
    return this.recorded.find((s) => s.step === this.cursor);
  }

  private missing(what: string): undefined {
    if (this.mode === "recorded") {
      const message = `replay with recorded outputs: no recorded output for ${what}; replay with models "fresh" to decide again`;
      throw new ModelRunError({ action: "dead_letter", message }, []);
    }
    return undefined;
  }
}

const describe = (s: Step) => (s.kind === "model" ? `a ${s.tier} call to ${s.model}` : `a call of tool ${s.tool}`);
