import type { Usage } from '@unity/core';
import type { EnsembleStrategy } from './ensemble-config';

/** One call an ensemble made: a member's answer (or one sample of it), or its judge's or fuser's. */
export interface EnsembleCallTrace {
  /** As configured: a model string, or a role (`reasoning`). */
  member: string;
  /** The model string asked first (a role's `models.<role>`). */
  model: string;
  /**
   * `answered`; `failed` (see `error`); `cancelled` — a race was decided while it ran, so its request was aborted;
   * `not-started` — a race was decided before its turn (hedging).
   */
  status: 'answered' | 'failed' | 'cancelled' | 'not-started';
  /** vote with `samples` > 1: which sample of the member this is (1, 2, …). */
  sample?: number;
  /** The answer's text. */
  answer?: string;
  /** vote: the final answer read out of the text (normalised), or absent when none could be read. */
  extracted?: string;
  /** The model string that answered (the router may have fallen back from `model`). */
  answeredBy?: string;
  /** From the call to its end (or its cancellation). */
  latencyMs: number;
  /** race: time to its first token. */
  firstTokenMs?: number;
  usage?: Usage;
  /** US dollars, when the ensemble's `prices` name the model that answered. */
  costUsd?: number;
  /** Why it failed: the router's error code and message, with its fix. */
  error?: { code: string; message: string; fix?: string };
}

/** How the strategy decided; `index` is the chosen entry of `EnsembleTrace.members`. */
export type EnsembleDecision =
  | {
      strategy: 'vote';
      index: number;
      /** The winning final answer (normalised) and its votes, out of `answers` counted. */
      winner: string;
      votes: number;
      answers: number;
      /** Every answer voted for, most votes first (ties: first in member order first). */
      tally: { answer: string; votes: number }[];
    }
  | {
      strategy: 'judge';
      index: number;
      /** The candidate the judge picked, numbered as it saw them (1, 2, …). */
      choice?: number;
      reason: string;
      /**
       * `json`: the judge's `{choice, reason}`; `regex`: its choice read from text; `single-candidate`: one answer
       * only, the judge was not asked; `judge-failed`: the judge failed or gave no choice, so the first answer stands;
       * `tool-calls`: no answer had text, so the first answer with tool calls stands (`candidates` 0).
       */
      by: 'json' | 'regex' | 'single-candidate' | 'judge-failed' | 'tool-calls';
      candidates: number;
    }
  | {
      strategy: 'fuse';
      /** Set when one answer stands as it is (`single-candidate`, the fuser failed, or `tool-calls`). */
      index?: number;
      /** `tool-calls`: no answer had text, so the first answer with tool calls stands (`candidates` 0). */
      by: 'fuser' | 'single-candidate' | 'fuser-failed' | 'tool-calls';
      candidates: number;
      reason?: string;
    }
  | {
      strategy: 'race';
      index: number;
      /** Members started late (hedging), with how long after the request each started. */
      hedges: { index: number; afterMs: number }[];
    };

/** What `RouterResponse.ensemble` says of an answer an ensemble gave (`model: 'ensemble/<name>'`). */
export interface EnsembleTrace {
  name: string;
  strategy: EnsembleStrategy;
  /** Each member call in member order (samples of one member together). */
  members: EnsembleCallTrace[];
  /** The judge's or the fuser's call, when one was made. */
  judge?: EnsembleCallTrace;
  decision: EnsembleDecision;
  /** Tokens of every call made, the judge's or fuser's included (also the response's `usage`). */
  usage: Usage;
  /** US dollars of every call made, when `prices` named every model that answered. */
  costUsd?: number;
  latencyMs: number;
}
