/**
 * Workflow types registered with the worker. Each predefined type interprets its
 * stored DAG; the names let operators filter runs by type in the Temporal Web UI.
 */
import type { InterpreterInput, RunResult } from '@engine/shared/contracts';
import { interpret } from './interpreter';

/** Any stored definition whose type has no dedicated name. */
export async function definitionWorkflow(input: InterpreterInput): Promise<RunResult> {
  return interpret(input);
}

export async function productImportWorkflow(input: InterpreterInput): Promise<RunResult> {
  return interpret(input);
}

export async function listingCreationWorkflow(input: InterpreterInput): Promise<RunResult> {
  return interpret(input);
}

export async function inventorySyncWorkflow(input: InterpreterInput): Promise<RunResult> {
  return interpret(input);
}

export async function orderProcessingWorkflow(input: InterpreterInput): Promise<RunResult> {
  return interpret(input);
}
