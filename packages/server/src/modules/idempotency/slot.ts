// The idempotency slot of a request: where the transaction entry points (access/transactions.ts)
// store a creating request's answer, inside the use case's own transaction.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tx } from '../../db/tenant-context.js';
import { AppError } from '../../http/errors.js';
import type { Principal } from '../access/principal.js';
import { storeAnswer } from './idempotency.queries.js';

/** What a request with an Idempotency-Key carries into its use case: where its answer goes. */
export interface IdempotencySlot {
  principal: string;
  key: string;
  requestHash: string;
  status: number;
  recorded: boolean;
}

const slots = new AsyncLocalStorage<IdempotencySlot>();

/** Runs a creating route's handler with its slot, so its transaction stores the answer. */
export const withSlot = <T>(slot: IdempotencySlot, fn: () => T): T => slots.run(slot, fn);

/** Whose keys these are: a principal's keys are its own in every organization (the table's row policy agrees). */
export function principalKeyOf(p: Principal): string {
  switch (p.type) {
    case 'user':
      return `user:${p.userId}`;
    case 'tool':
      return `tool:${p.toolId}`;
    case 'api_key':
      return `api_key:${p.apiKeyId}`;
  }
}

/** Whether this request's answer is still to be stored (it carries an Idempotency-Key). */
export const answerToStore = (): boolean => {
  const slot = slots.getStore();
  return slot !== undefined && !slot.recorded;
};

export const inUse = () =>
  new AppError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still in progress; retry shortly', undefined, {
    'retry-after': '1',
  });

/**
 * Called by the transaction entry points (access/transactions.ts) with the use case's result,
 * inside its transaction, just before COMMIT. The first transaction of a request with a slot
 * stores the answer; without a slot (no Idempotency-Key) it does nothing.
 */
export async function storeAnswerIn(tx: Tx, result: unknown): Promise<void> {
  const slot = slots.getStore();
  if (!slot || slot.recorded) return;
  const stored = await storeAnswer(tx, {
    principal: slot.principal,
    key: slot.key,
    requestHash: slot.requestHash,
    status: slot.status,
    response: JSON.stringify(result),
  });
  // A live record appeared since the replay check: a duplicate committed first elsewhere.
  // Throwing rolls this change back, so the key still stands for exactly one change.
  if (!stored) throw inUse();
  slot.recorded = true;
}
