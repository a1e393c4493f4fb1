export * from './utils.js';
