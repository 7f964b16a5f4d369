import { z } from 'zod';
import type { RouterStreamEvent } from '../router-types';
import { judgePrompt } from './candidate-prompt';
import type { CallResult, EnsembleRun } from './ensemble-run';

/** A judge's verdict: which candidate (numbered from 1), and why. */
interface Verdict {
  choice: number;
  reason: string;
  by: 'json' | 'regex';
}

/** The one fallback when the reply is not the JSON asked for: `choice: 2`, `Candidate #2`, `answer 2`. */
const choicePattern = /\b(?:choice|candidate|answer)\b["'\s:=#]*(?:is\s+|number\s+|no\.?\s*)?["'(]?(\d+)/i;

/**
 * Read a judge's reply strictly: the JSON object `{"choice": n, "reason": "…"}` (zod; inside a code fence or after
 * `<think>` too), else a choice named in the text. A choice outside 1…`candidates` is no choice: undefined.
 */
export function parseVerdict(text: string, candidates: number): Verdict | undefined {
  const reply = text.replace(/<think>[\s\S]*?<\/think>/gi, '').trim();
  const schema = z.object({
    choice: z.number().int().min(1).max(candidates),
    reason: z.string().trim().min(1),
  });
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  if (start !== -1 && end > start) {
    try {
      const parsed = schema.safeParse(JSON.parse(reply.slice(start, end + 1)));
      if (parsed.success) return { ...parsed.data, by: 'json' };
    } catch {
      // not JSON: try the pattern
    }
  }
  const match = choicePattern.exec(reply);
  const choice = match ? Number(match[1]) : Number.NaN;
  if (!Number.isInteger(choice) || choice < 1 || choice > candidates) return undefined;
  return { choice, reason: reply.length > 300 ? `${reply.slice(0, 297)}…` : reply, by: 'regex' };
}

/**
 * `judge` (best-of-n): every member answers; a judge model is shown the answers numbered and picks the best, with
 * its reason. One answer only: it stands without a judge. The judge failing, or naming no candidate, leaves the first
 * answer (in member order), and the trace says so. Answers with tool calls only are not judged; when no answer has
 * text, the first of them stands. No answer at all is `ENSEMBLE_FAILED`.
 */
export async function* judge(run: EnsembleRun): AsyncGenerator<RouterStreamEvent, void> {
  const answers = await run.askMembers('judge');
  if (answers.decided) {
    yield* run.finishWith(answers.response);
    return;
  }
  const { results, candidates } = answers;
  const [first] = candidates;
  if (candidates.length === 1) {
    const decision = {
      strategy: 'judge' as const,
      index: first.index,
      reason: 'only one member answered, so the judge was not asked',
      by: 'single-candidate' as const,
      candidates: 1,
    };
    yield* run.finishWith(run.respond(first.response, results, decision));
    return;
  }

  const target = run.target(run.settings.judge!);
  const texts = candidates.map((c) => c.response.content);
  const verdictCall: CallResult = await run.ask(
    target,
    run.asideRequest(target, judgePrompt(run.request.messages, texts)),
  );
  const stoppedAfter = run.stopped([...results, verdictCall]);
  if (stoppedAfter) throw stoppedAfter;
  const verdict = verdictCall.response ? parseVerdict(verdictCall.response.content, candidates.length) : undefined;
  const picked = verdict ? candidates[verdict.choice - 1]! : first;
  const reason = verdict
    ? verdict.reason
    : verdictCall.response
      ? `the judge named no candidate from 1 to ${candidates.length}, so the first answer stands; it replied: ${excerpt(verdictCall.response.content)}`
      : `the judge failed, so the first answer stands: ${verdictCall.trace.error?.message ?? 'no answer'} [${verdictCall.trace.error?.code ?? 'ERROR'}]`;
  const decision = {
    strategy: 'judge' as const,
    index: picked.index,
    ...(verdict ? { choice: verdict.choice } : {}),
    reason,
    by: verdict ? verdict.by : ('judge-failed' as const),
    candidates: candidates.length,
  };
  yield* run.finishWith(run.respond(picked.response, results, decision, verdictCall));
}

const excerpt = (text: string) => JSON.stringify(text.length > 200 ? `${text.slice(0, 197)}…` : text);
