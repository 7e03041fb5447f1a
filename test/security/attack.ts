// The hostile-client suite's one verb: `attack(name, fn)` is a test that tries one attack from
// outside; `fn` asserts the product resisted it, so a failed test is an attack that got through.
// The suite's runner prints the tally as "N attacks tried, M succeeded".
import { test, type TestContext } from 'node:test';

let tried = 0;
let succeeded = 0;

/** Registers one attack; `defended` throws (an assertion) when the attack got through. */
export function attack(name: string, defended: (t: TestContext) => Promise<void>): void {
  test(`attack: ${name}`, async (t) => {
    tried++;
    try {
      await defended(t);
    } catch (e) {
      succeeded++;
      throw e;
    }
  });
}

/** The suite's closing line. */
export function tally(): string {
  return `${tried} attacks tried, ${succeeded} succeeded`;
}
