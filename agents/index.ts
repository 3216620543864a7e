// The registry: adding an agent is adding its file and one line here.
import { defineRegistry } from "../src/registry";
import { catalog } from "./catalog";
import fraudScreen from "./fraud-screen";
import inventory from "./inventory";
import shippingQuote from "./shipping-quote";

export const agents = [fraudScreen, inventory, shippingQuote];

export const registry = defineRegistry({ catalog, agents });
