import { Command } from 'nest-commander';
import { GRAPH_COMMAND, type GraphFlags } from '../cli/commands.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';
import { BuildSystemError } from '../errors.js';
import { selectPackages } from '../services/workspace.service.js';
import { GRAPH_FORMATS, renderGraph, type GraphFormat } from '../workspace/graph.js';
import { UsageExitCommand } from './usage-exit.js';
import { failCommand } from './errors-output.js';

@Command(commandMetadata(GRAPH_COMMAND))
export class GraphCommand extends UsageExitCommand {
  async run(packages: string[], flags: GraphFlags): Promise<void> {
    try {
      const format = (flags.format ?? 'dot') as GraphFormat;
      if (!GRAPH_FORMATS.includes(format)) {
        throw new BuildSystemError('USAGE', `must be one of ${GRAPH_FORMATS.join(', ')} (got ${JSON.stringify(flags.format)})`, { field: '--format' });
      }
      // The same selection a build makes (cycles are reported the same way, exit 2).
      const selection = selectPackages({ cwd: flags.cwd, packages, filter: flags.filter, all: flags.all });
      process.stdout.write(renderGraph(selection.graph, selection.packages.map((p) => p.name), format));
      process.exitCode = 0;
    } catch (e) {
      failCommand(e);
    }
  }
}

// The options: one generated method per row of its flag table (cli/commands.ts).
applyFlagOptions(GraphCommand, GRAPH_COMMAND.flags);
