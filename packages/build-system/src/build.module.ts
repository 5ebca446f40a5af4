import { Module } from '@nestjs/common';
import { BuildCommand, WatchCommand } from './commands/build.command.js';
import { CacheCommand, CacheInfoCommand, CachePruneCommand } from './commands/cache.command.js';
import { CleanCommand } from './commands/clean.command.js';
import { GraphCommand } from './commands/graph.command.js';
import { InitCommand } from './commands/init.command.js';
import { ListCommand } from './commands/list.command.js';
import { PackageBuildService } from './services/build.service.js';
import { CacheService } from './services/cache.service.js';
import { CleanService } from './services/clean.service.js';
import { ListService } from './services/list.service.js';
import { WorkspaceBuildService } from './services/workspace.service.js';

/**
 * Nest wiring for the CLI. The services are plain classes (the core is
 * framework-free); this module only provides them and the commands, so an
 * app's own nest-commander CLI can import it to get `build:*` commands.
 */
@Module({
  providers: [
    PackageBuildService,
    { provide: WorkspaceBuildService, useFactory: (pkg: PackageBuildService) => new WorkspaceBuildService(pkg), inject: [PackageBuildService] },
    ListService,
    CleanService,
    CacheService,
    BuildCommand,
    WatchCommand,
    ListCommand,
    CleanCommand,
    CacheCommand,
    CachePruneCommand,
    CacheInfoCommand,
    GraphCommand,
    InitCommand,
  ],
  exports: [PackageBuildService, WorkspaceBuildService, ListService, CleanService, CacheService],
})
export class BuildSystemModule {}
