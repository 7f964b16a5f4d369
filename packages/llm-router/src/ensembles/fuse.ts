import type { RouterResponse, RouterStreamEvent } from '../router-types';
import { fusePrompt } from './candidate-prompt';
import type { CallResult, EnsembleRun } from './ensemble-run';

/**
 * `fuse`: every member answers; a fuser model merges the answers into one. Streamed, the fuser's text is streamed as
 * it comes. One answer only: it stands without a fuser. The fuser failing before its first token leaves the first
 * answer (in member order), and the trace says so; after it, the stream ends with `STREAM_INTERRUPTED` as any
 * routed stream. Answers with tool calls only are not fused; when no answer has text, the first of them stands. No
 * answer at all is `ENSEMBLE_FAILED`.
 */
export async function* fuse(run: EnsembleRun): AsyncGenerator<RouterStreamEvent, void> {
  const answers = await run.askMembers('fuse');
  if (answers.decided) {
    yield* run.finishWith(answers.response);
    return;
  }
  const { results, candidates } = answers;
  const [first] = candidates;
  const standing = (by: 'single-candidate' | 'fuser-failed', reason: string, fuser?: CallResult) =>
    run.respond(
      first.response,
      results,
      { strategy: 'fuse', index: first.index, by, candidates: candidates.length, reason },
      fuser,
    );
  if (candidates.length === 1) {
    yield* run.finishWith(standing('single-candidate', 'only one member answered, so the fuser was not asked'));
    return;
  }

  const target = run.target(run.settings.fuser!);
  const request = run.asideRequest(
    target,
    fusePrompt(
      run.request.messages,
      candidates.map((c) => c.response.content),
    ),
  );
  const fused = (response: RouterResponse, fuser: CallResult) =>
    run.respond(response, results, { strategy: 'fuse', by: 'fuser', candidates: candidates.length }, fuser);
  const failedOver = (fuser: CallResult) =>
    standing(
      'fuser-failed',
      `the fuser failed, so the first answer stands: ${fuser.trace.error?.message ?? 'no answer'} [${fuser.trace.error?.code ?? 'ERROR'}]`,
      fuser,
    );

  if (run.kind === 'chat') {
    const fuser = await run.ask(target, request);
    const stoppedAfter = run.stopped([...results, fuser]);
    if (stoppedAfter) throw stoppedAfter;
    yield* run.finishWith(fuser.response ? fused(fuser.response, fuser) : failedOver(fuser));
    return;
  }

  // Streamed: the fuser's own tokens, as they come.
  const began = performance.now();
  let started = false;
  try {
    for await (const event of run.host.stream(request)) {
      if (event.type === 'finish') {
        const fuser = run.answered(target, event.response, performance.now() - began);
        if (!fuser.response && !started) {
          yield* run.finishWith(failedOver(fuser));
          return;
        }
        yield { type: 'finish', response: fused(event.response, fuser) };
        return;
      }
      if (event.type === 'error') {
        const fuser = run.failed(target, event.error, performance.now() - began);
        yield { type: 'error', error: run.interrupted(target.name, event.error, [...results, fuser]) };
        return;
      }
      started = true;
      yield event;
    }
  } catch (error) {
    // The router throws only before a first token: the first answer can still stand.
    const fuser = run.failed(target, error, performance.now() - began);
    const stoppedAfter = run.stopped([...results, fuser]);
    if (stoppedAfter) throw stoppedAfter;
    if (started) {
      yield { type: 'error', error: run.interrupted(target.name, error, [...results, fuser]) };
      return;
    }
    yield* run.finishWith(failedOver(fuser));
  }
}
