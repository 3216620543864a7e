// Where the example domain's outcomes go: the fulfilment system hears every decided order (signed
// CloudEvents it can verify with FULFILMENT_WEBHOOK_SECRET, idempotent on `webhook-id`), and the ops
// channel (a Slack-compatible incoming webhook) hears the orders waiting for a person and agentwire's
// own alerts (src/alerts: dead letters piling up, a destination down, a budget nearly spent). Unset
// URL: that destination is off here (its deliveries are recorded as skipped).
import { z } from "zod";
import { defineDestination } from "../src/define";

export const fulfilment = defineDestination({
  name: "fulfilment",
  description: "The warehouse system: ships confirmed orders, releases the stock of rejected ones.",
  types: ["order.confirmed", "order.rejected"],
  url: "FULFILMENT_WEBHOOK_URL",
  format: { kind: "cloudevents", secret: "FULFILMENT_WEBHOOK_SECRET" },
});

const Alert = z.object({ condition: z.string(), subject: z.string(), severity: z.string(), summary: z.string() });
const Review = z.object({ orderId: z.string(), reasons: z.array(z.string()).default([]), risk: z.string().optional() });

export const opsChannel = defineDestination({
  name: "ops-channel",
  description: "The operations team's chat channel: orders waiting for approval, and agentwire's alerts.",
  types: ["order.review_requested", "alert.raised"],
  url: "OPS_SLACK_WEBHOOK_URL",
  format: {
    kind: "slack",
    template: (event) => {
      const alert = Alert.safeParse(event.data);
      if (event.type === "alert.raised" && alert.success) {
        const { severity, summary, condition, subject } = alert.data;
        return {
          text: `${severity === "critical" ? ":rotating_light:" : ":warning:"} ${summary} (${condition}, ${subject})`,
        };
      }
      const review = Review.safeParse(event.data);
      const order = review.success ? review.data.orderId : event.correlationid;
      const why = review.success && review.data.reasons.length > 0 ? `: ${review.data.reasons.join("; ")}` : "";
      return { text: `Order ${order} waits for approval${why}` };
    },
  },
});

export const destinations = [fulfilment, opsChannel];
