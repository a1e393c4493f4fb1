// The public types of the package root (the native loader's own types are in binding.d.cts,
// which is internal).
export * from './dist/index.js';
