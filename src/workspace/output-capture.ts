/**
 * Keeps the first and last `keepBytes / 2` bytes of a stream and counts the rest,
 * so a long build log still shows how it started and how it ended.
 */
export class OutputCapture {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(keepBytes: number) {
    this.headLimit = Math.ceil(keepBytes / 2);
    this.tailLimit = Math.floor(keepBytes / 2);
  }

  get totalBytes(): number {
    return this.total;
  }

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
    // Trim lazily: only when the tail holds twice what it must keep.
    if (this.tailBytes > this.tailLimit * 2) this.compactTail();
  }

  toString(): string {
    this.compactTail();
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    const cut = this.total - this.headBytes - this.tailBytes;
    if (cut <= 0) return head + tail;
    return `${head}\n… [${cut} bytes cut] …\n${tail}`;
  }

  private compactTail(): void {
    if (this.tailBytes <= this.tailLimit) return;
    const joined = Buffer.concat(this.tail);
    const kept = joined.subarray(joined.length - this.tailLimit);
    this.tail = [kept];
    this.tailBytes = kept.length;
  }
}
