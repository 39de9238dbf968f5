import type { StoredEvent } from '@pep/contracts';
import type { Transaction } from 'kysely';
import type { StallState } from './stall-watch.ts';

export interface Projection<DB> {
  /** Checkpoint name; one per read model. */
  name: string;
  /** Subject filter (single filter: nats-server 2.9 has no multi-filter consumers). */
  filterSubject: string;
  /** Applies events in order inside the caller's transaction. Unknown types must be ignored. */
  apply(trx: Transaction<DB>, events: StoredEvent[]): Promise<void>;
  /** Empties the read model's tables (before a rebuild). */
  reset(trx: Transaction<DB>): Promise<void>;
  /**
   * The tables this read model writes (and only it), for a rebuild beside the live one switched over atomically
   * (`rebuildBeside`). Optional: undeclared, they are inferred from what `reset` empties (`projectionTables`).
   */
  tables?: readonly string[];
}

export type RebuildFrom = { from: 'start' } | { from: 'seq'; seq: number } | { from: 'time'; time: string };

export type ProjectionState = 'ok' | 'lagging' | 'stalled' | 'degraded' | 'unavailable';

export interface ProjectionStatus extends StallState {
  name: string;
  /** The subject filter it reads (what its checkpoint is compared with). */
  filterSubject?: string;
  state: ProjectionState;
  /** What is wrong, in words (absent when `ok`). */
  reason?: string;
  applied: number;
  /** Dead letters of this projection that no operator has retried or discarded yet. */
  openDeadLetters: number;
}

export interface ProjectionRunner {
  /** Resolves when the checkpoint has reached `seq` (or the stream's last sequence when omitted). */
  waitFor(seq?: number, timeoutMs?: number): Promise<number>;
  checkpoint(): Promise<number>;
  lag(): Promise<number>;
  /** Caught up, lagging, stalled (behind with no progress), degraded (open dead letters) or unavailable. */
  status(): Promise<ProjectionStatus>;
  /** Applies a dead-lettered event of this projection again (the operator fixed the cause) and marks it retried. */
  retryDeadLetter(id: number): Promise<void>;
  /** In place: empties the read model and reads again from `from` (readers see it fill up). */
  rebuild(from: RebuildFrom): Promise<{ restartedAt: number }>;
  /** Stops applying once the open batch is committed (for a switch-over); `resume` goes on from the checkpoint. */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}
