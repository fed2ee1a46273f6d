// What the import bridges (imports.ts) need of an account and of the registry, so that they do
// not import accounts.ts, which builds them (the accounts ↔ imports loop).
import type { Router } from "../core/router.js";
import type { ResponseType } from "./options.js";

/** The registry's count of imports feeding imports for the message being routed. */
export interface ImportDepth {
  depth: number;
}

/** A pending service-import reply in an exporter, by token: where the answer goes back. */
export interface ResponseRoute {
  importer: BridgedAccount;
  reply: string;
  type: ResponseType;
  expires: number;
}

/** An account as the bridges see it: its router, its `_R_.` prefix and pending replies. */
export interface BridgedAccount {
  readonly name: string;
  readonly router: Router;
  readonly replyPrefix: string;
  readonly responses: Map<string, ResponseRoute>;
  addResponse(importer: BridgedAccount, reply: string, type: ResponseType, thresholdMs: number, registry: ImportDepth): string;
}
