import type { ToolCall } from '@unity/core';
import { callFingerprint, callPaths, resultFingerprint } from './call-fingerprint';
import type { AgentToolResult } from './tool-executor';

/** What the loop remembers of one executed call: enough to summarise activity and to detect repetition. */
export interface CallRecord {
  name: string;
  /** Canonical call: name and arguments (see `callFingerprint`). */
  fingerprint: string;
  /** Digest of the result: same digest, same outcome. */
  resultFingerprint: string;
  ok: boolean;
  /** Canonical paths the call named. */
  paths: string[];
  /** The error message, for failed calls. */
  error?: string;
}

export function toCallRecord(call: ToolCall, result: AgentToolResult, root?: string): CallRecord {
  const record: CallRecord = {
    name: call.name,
    fingerprint: callFingerprint(call, root),
    resultFingerprint: resultFingerprint(result.ok, result.content),
    ok: result.ok,
    paths: callPaths(call, root),
  };
  if (!result.ok) record.error = result.error?.message ?? result.content;
  return record;
}
