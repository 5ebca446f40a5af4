import { Command, Option } from 'nest-commander';
import { BuildSystemError } from '../errors.js';
import { selectPackages } from '../services/workspace.service.js';
import { GRAPH_FORMATS, renderGraph, type GraphFormat } from '../workspace/graph.js';
import { UsageExitCommand } from './usage-exit.js';
import { failCommand } from './errors-output.js';

interface GraphFlags {
  format?: string;
  cwd?: string;
  filter?: string[];
  all?: boolean;
}

@Command({
  name: 'build:graph',
  aliases: ['graph'],
  arguments: '[packages...]',
  description: 'Print the package graph of the selection (edges point from a dependency to its dependents) as dot, json or mermaid',
})
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

  @Option({ flags: '--format <format>', description: `${GRAPH_FORMATS.join(' | ')} (default dot)` })
  parseFormat(value: string): string {
    return value;
  }

  @Option({ flags: '--cwd <dir>', description: 'run as if started in <dir>' })
  parseCwd(value: string): string {
    return value;
  }

  @Option({ flags: '--filter <filter>', description: 'select packages (repeatable), as for build' })
  parseFilter(value: string, previous: string[] = []): string[] {
    return [...previous, value];
  }

  @Option({ flags: '--all', description: 'include packages without a build.config.* when an entry can be inferred' })
  parseAll(): boolean {
    return true;
  }
}
