// `node --import ./test/support/ts-resolve.mjs src/cli/main.ts`: runs the CLI from its
// TypeScript sources (Node strips the types) with no build. The sources import siblings
// as `./x.js` (NodeNext); when no such file exists, this resolves them to `./x.ts`.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw err;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
