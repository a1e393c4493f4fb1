// Jest as a user runs it: the default `node` environment (test code in a vm context, the addon's
// promises from the main realm) and the package imported by its name.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/jest/**/*.test.cjs'],
  testTimeout: 30_000,
};
