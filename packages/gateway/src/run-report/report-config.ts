import { z } from 'zod';

/**
 * The `report:` section of the Unity config: where `unity run` and `unity evolve` report their runs, so that the
 * gateway's dashboard shows them live. `url` is the gateway's address (`http://127.0.0.1:8787`; the `--report` flag
 * overrides it, `--no-report` turns it off); `api_key_env` names the variable holding the key to report with (the
 * gateway's master key or a virtual key; default `UNITY_API_KEY`, the variable `unity serve` takes its key from).
 * Give it to the router's `loadConfig({ sections: { report: reportConfigSection }, envBindings: reportEnvBindings })`.
 */
export const reportConfigSection = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/, "expected the gateway's http(s) address, such as http://127.0.0.1:8787")
      .optional(),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .default('UNITY_API_KEY'),
  })
  .prefault({});

export type ReportSettings = z.output<typeof reportConfigSection>;

/** `UNITY_REPORT_URL` gives `report.url` when the file leaves it unset. */
export const reportEnvBindings = [{ path: ['report', 'url'], env: 'UNITY_REPORT_URL' }] as const;
