// The ModelError a promise rejects with (the test fails when it resolves or throws something else).
import { expect } from 'vitest';
import { ModelError } from '../../src/model/errors';

export async function rejection(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ModelError);
  return error as ModelError;
}
