// The package root for tools that look for index.js beside package.json; the public API lives
// in dist/ (package.json "exports"), and the native loader in binding.cjs is internal.
module.exports = require('./dist/index.js');
