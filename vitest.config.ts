import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The JSON report is what .ci/run counts; the default reporter is what people read.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
    projects: [
      {
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // The machine has two cores; the suites start services and codecs of their own.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The quick benchmark measures ratios of times: it runs after every other suite has finished, alone, so
        // that their load does not land on one side of a ratio.
        test: {
          name: 'bench',
          include: ['bench/test/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 480_000,
          hookTimeout: 120_000,
          pool: 'forks',
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
