const streaming = { stream: true } as const;

/**
 * Splits an NDJSON body into lines as its pieces arrive (pieces may cut lines and UTF-8 characters anywhere): `push`
 * returns the lines a piece completes, `end` what is left after the last newline once the body ended.
 */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, streaming);
    if (!text.includes('\n')) {
      this.pending += text;
      return [];
    }
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    return lines;
  }

  end(): string {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return rest;
  }
}
