/** Entry for Nest apps that embed build-system's commands and services (`build-system/nest`). */
import 'reflect-metadata';
export { BuildSystemModule } from './build.module.js';
export { BuildCommand } from './commands/build.command.js';
export { ListCommand } from './commands/list.command.js';
export { CleanCommand } from './commands/clean.command.js';
export { CacheCommand, CachePruneCommand, CacheInfoCommand } from './commands/cache.command.js';
export { InitCommand } from './commands/init.command.js';
