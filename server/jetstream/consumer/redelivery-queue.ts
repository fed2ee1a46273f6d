// The redelivery queue of a consumer: messages whose ack wait ran out (or that were NAKed),
// waiting to go out again ahead of new ones.

/**
 * The redelivery queue: stream seqs in the order they became due, each at most once. Membership
 * is a set lookup (a NAK and the ack timer ask it per message); taking from the front moves an
 * index, not the array.
 */
export class RedeliveryQueue {
  private seqs: number[] = [];
  private head = 0;
  private readonly members = new Set<number>();

  get length(): number {
    return this.seqs.length - this.head;
  }

  has(seq: number): boolean {
    return this.members.has(seq);
  }

  push(seq: number): void {
    this.members.add(seq);
    this.seqs.push(seq);
  }

  /** Put back at the front (a delivery that could not be sent). */
  unshift(seq: number): void {
    this.members.add(seq);
    if (this.head > 0) this.seqs[--this.head] = seq;
    else this.seqs.unshift(seq);
  }

  /** The first seq; only when length > 0. */
  shift(): number {
    const seq = this.seqs[this.head++]!;
    this.members.delete(seq);
    if (this.head === this.seqs.length) {
      this.seqs = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    return seq;
  }

  remove(seq: number): void {
    if (!this.members.delete(seq)) return;
    const i = this.seqs.indexOf(seq, this.head);
    if (i >= 0) this.seqs.splice(i, 1);
  }
}
