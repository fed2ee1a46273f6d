// external mirrors and sources between a gnat leaf (domain edge) and a nats-server hub (domain
// hub): see external-kit.ts.
import { describeExternal } from "./external-kit.js";

describeExternal("nats");
