import assert from 'node:assert/strict';

/** What a decider spec needs: the pure decide, the evolve fold and the state before any event (emmett's shape). */
export interface Decider<S, C, E> {
  decide: (command: C, state: S) => E[];
  evolve: (state: S, event: E) => S;
  initialState: () => S;
}

/**
 * given/when/then over a pure decider (emmett's DeciderSpecification):
 * `spec.given([created]).when(activate).thenEvents([activated])`, `.thenThrows(IllegalTransitionError)`, or `.events()`
 * for assertions of its own. `given` folds past events through `evolve`; nothing else runs. Plain node:assert, so
 * the module loads outside a test runner too (benches import @pep/testing).
 */
export function deciderSpec<S, C, E>(decider: Decider<S, C, E>) {
  return {
    given(events: E[] = []) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        state,
        when(command: C) {
          const run = () => decider.decide(command, state);
          return {
            /** The events decided (throws what the decider throws). */
            events: run,
            thenEvents(expected: E[]) {
              assert.deepStrictEqual(run(), expected);
            },
            thenThrows(error?: abstract new (...args: never[]) => Error) {
              if (error) assert.throws(run, error);
              else assert.throws(run);
            },
          };
        },
      };
    },
  };
}
