import { type Random, randomInt } from './random';
import type { Candidate } from './strategies';

/**
 * The best `size` candidates so far, best first; the baseline is one of them until `size` variants beat it. A
 * newcomer that ties the worst elite replaces it (newer wins ties), which lets neutral variants drift.
 */
export class Population {
  private readonly members: Candidate[] = [];

  constructor(private readonly size: number) {}

  /** Offer a scored candidate; true when it earned a place. */
  offer(candidate: Candidate): boolean {
    const worst = this.members.at(-1);
    if (this.members.length >= this.size && worst && candidate.score < worst.score) return false;
    const at = this.members.findIndex((m) => candidate.score >= m.score);
    if (at < 0) this.members.push(candidate);
    else this.members.splice(at, 0, candidate);
    if (this.members.length > this.size) this.members.pop();
    return true;
  }

  /** Binary tournament: two draws, the better one (the first on a tie). */
  tournament(random: Random): Candidate {
    const a = this.members[randomInt(random, this.members.length)] as Candidate;
    const b = this.members[randomInt(random, this.members.length)] as Candidate;
    return b.score > a.score ? b : a;
  }

  /** An elite other than `parent` (for crossover), or `fallback` when there is none. */
  other(parent: Candidate, random: Random, fallback: Candidate): Candidate {
    const rest = this.members.filter((m) => m.id !== parent.id);
    return rest.length === 0 ? fallback : (rest[randomInt(random, rest.length)] as Candidate);
  }
}
