/**
 * Keeps the head and the tail of a stream of output within a budget, counting the whole: what a model needs from a
 * long build log is usually its start and its end.
 */
export class OutputCapture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes seen in all. */
  total = 0;

  constructor(
    private readonly headLimit: number,
    private readonly tailLimit: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headLimit) {
      const take = Math.min(this.headLimit - this.headBytes, rest.length);
      this.head.push(rest.subarray(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0 || this.tailLimit === 0) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.tailLimit) {
      this.tailBytes -= (this.tail.shift() as Buffer).length;
    }
  }

  /** The kept text; when something was cut, a note in the middle says how much of how much. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const kept = this.headBytes + Math.min(this.tailBytes, this.tailLimit);
    if (kept >= this.total) return head + Buffer.concat(this.tail).toString('utf8');
    const tailAll = Buffer.concat(this.tail);
    const tail = tailAll.subarray(tailAll.length - this.tailLimit).toString('utf8');
    const omitted = this.total - this.headBytes - this.tailLimit;
    return `${head}\n[… ${omitted} bytes omitted; ${this.total} bytes in all, first ${this.headBytes} and last ${this.tailLimit} shown …]\n${tail}`;
  }
}
