/**
 * The Nest side of the CLI, loaded by main.ts with one import() once it knows it needs Nest.
 * Static imports, evaluated in this order: reflect-metadata before any decorated class, and
 * nest-commander's named exports read the way every bundler and Node agree on (a dynamic
 * import() of a CommonJS module gives only `default` inside the bundled CLI).
 */
import 'reflect-metadata';
export { CommandFactory } from 'nest-commander';
export { BuildSystemModule } from './build.module.js';
