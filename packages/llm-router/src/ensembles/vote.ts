import type { RouterStreamEvent } from '../router-types';
import type { CallResult, EnsembleRun } from './ensemble-run';
import { extractAnswer } from './extract-answer';

/**
 * `vote` (self-consistency): every member answers (`samples` times each, with the response cache off so that each
 * answer is drawn anew), the final answer is read out of each text (`extract`), and the answer with the most votes
 * wins — ties go to the one given first in member order. The text returned is the first answer that voted for it.
 * Needs `min_answers` counted answers (default 1); fewer is `ENSEMBLE_FAILED`.
 */
export async function* vote(run: EnsembleRun): AsyncGenerator<RouterStreamEvent, void> {
  const { settings, members } = run;
  const calls = members.flatMap((target) =>
    Array.from({ length: settings.samples }, (_, s) => ({
      target,
      sample: settings.samples > 1 ? s + 1 : undefined,
    })),
  );
  // Several calls to one model would otherwise get the first one's cached answer.
  const repeated = new Set(members.map((m) => m.model)).size < calls.length;
  const results = await Promise.all(
    calls.map(({ target, sample }) =>
      run.ask(target, run.requestFor(target, run.signal, repeated ? { cache: false } : {}), sample),
    ),
  );
  const stopped = run.stopped(results);
  if (stopped) throw stopped;

  const tally = new Map<string, { votes: number; first: number }>();
  let counted = 0;
  results.forEach((result, index) => {
    if (!result.response) return;
    const answer = extractAnswer(result.response.content, settings.extract);
    if (answer === undefined) return;
    result.trace.extracted = answer;
    counted++;
    const entry = tally.get(answer);
    if (entry) entry.votes++;
    else tally.set(answer, { votes: 1, first: index });
  });
  if (counted < settings.min_answers) {
    throw run.cannotDecide(
      `it needs ${settings.min_answers} answer(s) to count (min_answers) and got ${counted}`,
      `apply the fix of a failing member below, or lower ensembles.${run.name}.min_answers${
        settings.extract === 'last_number' ? ' (or use extract: last_line when answers hold no number)' : ''
      }`,
      results,
    );
  }
  // Map order is first-seen order, which is member order: a stable sort keeps it among equal votes.
  const ranked = [...tally].sort(([, a], [, b]) => b.votes - a.votes);
  const [winner, { votes, first }] = ranked[0]!;
  const chosen = results[first] as Required<CallResult>;
  const response = run.respond(chosen.response, results, {
    strategy: 'vote',
    index: first,
    winner,
    votes,
    answers: counted,
    tally: ranked.map(([answer, entry]) => ({ answer, votes: entry.votes })),
  });
  yield* run.finishWith(response);
}
