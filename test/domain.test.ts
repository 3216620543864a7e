// A second domain through the whole pipeline — signed webhook, routing, two agents using the domain's
// own capability, a workflow join and its outcome — with nothing in src/ knowing about it.
import { describe, expect, it } from "vitest";
import { postEvents, uniqueId, waitFor } from "./support/helpers";
import { env } from "cloudflare:workers";

const request = (member: string) => {
  const loanId = uniqueId("loan");
  return {
    specversion: "1.0",
    id: `evt-${loanId}`,
    source: "/library/front-desk",
    type: "book.requested",
    correlationid: loanId,
    data: { loanId, isbn: "978-0", member },
  };
};

const outcomeOf = (correlationId: string) =>
  waitFor(() =>
    env.DB.prepare("SELECT type, envelope FROM events WHERE correlation_id = ? AND type LIKE 'loan.%'")
      .bind(correlationId)
      .first<{ type: string; envelope: string }>(),
  );

describe("a second domain, registered without touching src/", () => {
  it("lends a book on the shelf to a member in good standing", async () => {
    const req = request("ada");
    expect((await postEvents(req)).status).toBe(202);
    const outcome = await outcomeOf(req.correlationid);
    expect(outcome.type).toBe("loan.granted");
    expect(JSON.parse(outcome.envelope)).toMatchObject({
      source: "/agentwire/workflows/loan",
      data: { loanId: req.data.loanId, isbn: "978-0" },
    });
  });

  it("refuses a member with late returns, by veto", async () => {
    const req = request("late-bob");
    expect((await postEvents(req)).status).toBe(202);
    const outcome = await outcomeOf(req.correlationid);
    expect(outcome.type).toBe("loan.refused");
    expect(JSON.parse(outcome.envelope).data.reasons).toContain("member has late returns");
  });

  it("keeps its internal types internal: an outside sender cannot post a loan.granted", async () => {
    const forged = { ...request("eve"), type: "loan.granted", data: { loanId: "x", isbn: "978-0" } };
    expect((await postEvents(forged)).status).toBe(422);
  });
});
