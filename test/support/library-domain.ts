// A second domain, written only against src/define (as an app in agents/ would be): a lending
// library. Its own catalog, agents, workflow and capability (`shelf`), registered in the test worker
// next to the example app, so the whole pipeline runs it without a line of src/ knowing about books.
import { z } from "zod";
import {
  agentDefiner,
  all,
  approve,
  defineCatalog,
  external,
  internal,
  reject,
  workflowDefiner,
} from "../../src/define";

export const libraryCatalog = defineCatalog({
  "book.requested": external(z.object({ loanId: z.string(), isbn: z.string(), member: z.string() })),
  "book.located": internal(z.object({ loanId: z.string(), isbn: z.string(), copies: z.number().int() })),
  "member.checked": internal(z.object({ loanId: z.string(), member: z.string(), inGoodStanding: z.boolean() })),
  "loan.granted": internal(z.object({ loanId: z.string(), isbn: z.string() })),
  "loan.refused": internal(z.object({ loanId: z.string(), reasons: z.array(z.string()) })),
  "loan.timed_out": internal(
    z.object({
      workflowId: z.string(),
      workflow: z.string(),
      missing: z.array(z.string()),
      received: z.array(z.string()),
    }),
  ),
});

/** The domain's capability: copies on the shelf, held per isbn (in memory for the test). */
export interface Shelf {
  copies(isbn: string): number;
  take(isbn: string): boolean;
}
const stock = new Map<string, number>([["978-0", 2]]);
export const shelf: Shelf = {
  copies: (isbn) => stock.get(isbn) ?? 0,
  take: (isbn) => {
    const n = stock.get(isbn) ?? 0;
    if (n === 0) return false;
    stock.set(isbn, n - 1);
    return true;
  },
};
export const libraryCapabilities = () => ({ shelf });

const defineAgent = agentDefiner(libraryCatalog, libraryCapabilities);
const defineWorkflow = workflowDefiner(libraryCatalog);

export const librarian = defineAgent({
  name: "librarian",
  description: "Finds the requested book on the shelf.",
  subscribes: ["book.requested"],
  emits: ["book.located"],
  handle: ({ event, ctx }) => [
    {
      type: "book.located",
      data: { loanId: event.data.loanId, isbn: event.data.isbn, copies: ctx.shelf.copies(event.data.isbn) },
    },
  ],
});

export const desk = defineAgent({
  name: "membership-desk",
  description: "Checks the member's standing.",
  subscribes: ["book.requested"],
  emits: ["member.checked"],
  handle: ({ event }) => [
    {
      type: "member.checked",
      data: {
        loanId: event.data.loanId,
        member: event.data.member,
        inGoodStanding: !event.data.member.startsWith("late-"),
      },
    },
  ],
});

export const loan = defineWorkflow({
  name: "loan",
  description: "Lends a book when it is on the shelf and the member is in good standing.",
  startsOn: "book.requested",
  join: all("book.located", "member.checked"),
  deadlineMs: 20_000,
  onTimeout: "timed_out",
  votes: {
    "book.located": ({ data }) => (data.copies > 0 ? approve("on the shelf") : reject("no copy on the shelf")),
    "member.checked": ({ data }) =>
      data.inGoodStanding ? approve("member in good standing") : reject("member has late returns"),
  },
  conflicts: "veto",
  emits: ["loan.granted", "loan.refused"],
  decide: ({ start, verdict }) =>
    verdict.decision === "approve"
      ? { type: "loan.granted", data: { loanId: start.data.loanId, isbn: start.data.isbn } }
      : { type: "loan.refused", data: { loanId: start.data.loanId, reasons: verdict.reasons } },
});
