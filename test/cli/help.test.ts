/** `--help` is generated from the config schema: every option, its environment variable and its values are in it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configSchema, envName, isSwitch, kebab } from '../../src/config.js';
import { COMMANDS, EXAMPLES } from '../../src/help.js';
import { CLI } from '../helpers/spawn.js';

const exec = promisify(execFile);
const cli = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('--help', () => {
  it('lists every option of the schema with its environment variable, values and default, and exits 0 with stdout empty', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const help = run.stderr;
    for (const [key, schema] of Object.entries(configSchema.shape)) {
      const line = help.split('\n').find((l) => l.startsWith(`  --${kebab(key)} `) || l === `  --${kebab(key)}`);
      expect(line, `--${kebab(key)}`).toBeDefined();
      expect(line).toContain(schema.description!);
      if (isSwitch(key)) expect(line).not.toMatch(/<[^>]+>/);
      const next = help.split('\n')[help.split('\n').indexOf(line!) + 1]!;
      expect(next.trim()).toBe(`env ${envName(key)}`);
    }
    expect(help).toMatch(/^ {2}--transport <stdio\|http> +How MCP clients connect: .*\(default: stdio\)$/m);
    expect(help).toMatch(/^ {2}--confirm-mode <elicit\|token\|none> /m);
    expect(help).toMatch(/^ {2}--port <n> /m);
    expect(help).toMatch(/^ {2}--endpoint-url <url> /m);
    for (const command of COMMANDS) expect(help).toContain(`healthimaging-mcp ${command.usage}`);
    for (const example of EXAMPLES) expect(help).toContain(`  ${example.command}\n      ${example.meaning}`);
    expect(help).toContain('HEALTHIMAGING_MCP_AUTH_TOKEN');
    expect(help).toContain("Options of 'local':");
  });

  it('is the same text for `help`, `local --help` and `doctor --help`', async () => {
    const expected = (await cli('--help')).stderr;
    expect((await cli('help')).stderr).toBe(expected);
    expect((await cli('local', '--help')).stderr).toBe(expected);
    expect((await cli('doctor', '--help')).stderr).toBe(expected);
  });

  it('names the unknown command or option and points to --help, with exit code 2', async () => {
    const command = await cli('serve');
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'serve'");
    expect(command.stderr).toContain("Run 'healthimaging-mcp --help'");
    const option = await cli('--no-such-option');
    expect(option.code).not.toBe(0);
    expect(option.stderr).toContain("'--no-such-option'");
  });
});
