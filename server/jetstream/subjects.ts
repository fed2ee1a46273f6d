// Subject relations the JetStream layer needs beyond protocol/subject.ts. Inputs are plain JS
// strings (API JSON); callers convert with toWire before handing a filter to a store.

export { isValidSubject, subjectMatches, hasWildcard, subjectsCollide } from "../../protocol/subject.js";
