/**
 * Teardown that must not fail the test (deleting a stream, dropping a database, stopping a helper): a failure is
 * reported on stderr with what was being cleaned up, never swallowed, and never thrown over the test's own result.
 * Returns whether the step succeeded.
 */
export async function bestEffort(what: string, step: Promise<unknown> | (() => Promise<unknown> | unknown)): Promise<boolean> {
  try {
    await (typeof step === 'function' ? step() : step);
    return true;
  } catch (err) {
    process.stderr.write(`best effort: ${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return false;
  }
}
